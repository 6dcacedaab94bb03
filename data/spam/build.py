"""Builds data/spam/messages.csv: short messages labelled spam / ham (not spam), with a split column.

Every piece below was written for BERT Explorer (Apache-2.0, like the rest of the repository; see
data/spam/LICENSE). Some messages are whole; others are put together from an opening, a body and a
closing written to fit each other, drawn with a fixed seed so that the file is the same on every run.
    python data/spam/build.py
"""
from __future__ import annotations

import csv
import random
from pathlib import Path

SEED = 12
HERE = Path(__file__).parent

HAM_WHOLE = """\
Running ten minutes late, the bus broke down near the bridge.
Can you grab milk on your way home? We're out again.
Happy birthday! Hope the cake is as big as last year's.
Did you see the match last night? What a finish.
I left my charger at yours, could you bring it tomorrow?
Meeting moved to 3pm, same room.
Thanks for dinner, the lasagne was amazing.
Mum says call her when you land.
Are we still on for the cinema on Friday?
The plumber is coming between 8 and 12, can you be in?
Just finished the report, sending it over now.
Don't forget your dentist appointment at 4.
Lol that video you sent is hilarious
Where did you park? I can't find the car.
Good luck with the interview today, you've got this.
The kids are asleep, come in quietly.
I'll pick you up from the station at half six.
Has anyone fed the cat this morning?
Sorry I missed your call, I was in a lecture.
We need to book the train tickets before prices go up.
Can you send me the photos from the wedding?
Ok see you there
Traffic is terrible, start without me.
I'm at the library until eight if you want to study together.
The heating is off again, I've emailed the landlord.
Lunch tomorrow? There's a new ramen place near the office.
Your package was left with the neighbour at number 12.
Please remember to water the tomatoes while I'm away.
I finally finished that book you lent me. The ending!
Can you check whether I left the oven on?
Bring a jumper, it gets cold by the lake in the evening.
Is the printer on the second floor working yet?
Grandad is out of hospital and doing well.
We won 3-1! Drinks at the usual place.
The slides look great, maybe shorten the intro a bit.
I'm making soup tonight, want some?
The shop closes at five on Sundays, so go early.
Can I borrow your ladder this weekend?
Send me the recipe for those lemon biscuits please.
How was the first day at the new job?
The vet says Biscuit just needs rest and a softer diet.
I've put the keys under the blue pot.
Our flight is delayed by two hours, ugh.
Just checking you got home safe.
Could you review my pull request when you have a minute?
The school trip form needs signing by Thursday.
Rain all weekend apparently, so the barbecue is off.
Who's bringing the board games on Saturday?
I owe you a coffee for helping me move.
Don't wait up, the meeting is running over.
The new timetable starts on Monday, check your bus.
Hey, are you awake?
Can we push our call to tomorrow morning?
I've booked the table for four at seven thirty.
Your sister says the baby has your nose.
Where's the remote? I've looked everywhere.
I'll be in the garden if you need me.
Reminder: bins go out tonight, recycling this week.
Nice one on the exam, all that revision paid off.
Do you still have my umbrella from last week?
The wifi password is on the fridge.
Let's split the bill for the cabin, about 80 each.
I think I left my glasses in your car.
Practice is cancelled, the pitch is flooded.
Can you cover my shift on Wednesday? I'll swap you Saturday.
Thanks for the flowers, they made my whole week.
Picked up your prescription, it's on the kitchen table.
Call me when you're free, nothing urgent.
The garage says the car will be ready by Friday.
Movie was terrible, popcorn was great.
I'm heading to the market, need anything?
Please text me the address of the party.
I can't make it tonight, I'm coming down with a cold.
Dad fixed the bike, you can ride it again.
The train was cancelled so I'm getting a taxi.
Congrats on the new flat! When's the housewarming?
Can you remind me what time the parents' evening is?
Our group presentation is first on Tuesday, let's practise Monday.
I've attached the minutes from this morning's meeting.
Grandma wants to know if you're coming for Sunday lunch.
The dog chewed my headphones. Again.
Meet at the north entrance of the park.
Shall I bring wine or dessert?
I got the tickets! Row F, right in the middle.
Printer jammed, I'll bring the copies after lunch.
We should really plan the holiday before everything gets booked up.
Your mum dropped off a lasagne, it's in the fridge.
Can you swap the Tuesday session to Thursday? Clash with my class.
The electricity bill came, it's higher than last month.
Just landed, waiting for the bags.
Thanks for listening yesterday, I needed that.
Football at six, bring your boots.
I've cleaned the bathroom, your turn for the kitchen.
Lost my wallet, have you seen it anywhere in the flat?
The concert starts at eight but doors open at seven.
Leaving work now, see you in twenty.
Pizza or curry tonight?
Remember to bring your passport for the check-in.
Thanks for the lift this morning, you saved me.
""".splitlines()

SPAM_WHOLE = """\
CONGRATULATIONS! You have been selected to receive a £1000 gift card. Click here to claim now.
URGENT: your account has been suspended. Verify your details at secure-login-update.com
You have won a brand new iPhone! Reply YES to claim your prize before midnight.
Your parcel could not be delivered. Pay the £1.99 redelivery fee here: parcel-track-now.net
FREE entry into our weekly draw to win a luxury cruise. Text WIN to 80085.
Lose 10kg in 10 days with this one weird trick doctors hate!
Hot singles in your area are waiting to chat. Sign up free today.
Final notice: your car warranty is about to expire. Call 0800 555 0199 now.
You are owed £3,200 in PPI compensation. Reply CLAIM to start.
Earn £500 a day from home, no experience needed! Ask me how.
Your Netflix payment failed. Update your card within 24 hours to avoid suspension.
Exclusive offer: 90% off designer watches, today only. Shop now!
We detected unusual activity on your bank account. Confirm your PIN here.
Dear customer, you have an unclaimed tax refund of £487. Submit your details to receive it.
Get a payday loan in minutes, even with bad credit! Apply now.
Congratulations, your mobile number won our monthly £5000 cash prize!
Double your bitcoin in 24 hours, guaranteed returns. DM for details.
Your email storage is full. Click here to upgrade for free or lose your messages.
Claim your free holiday to the Maldives, just pay the small booking fee.
Act now! Limited spots left in our millionaire mindset masterclass.
You've been pre-approved for a £10,000 credit card. No checks!
Buy cheap meds online without a prescription, discreet delivery.
Your Amazon order #44821 has been cancelled. If this wasn't you, call us immediately.
Someone tried to log into your account from Russia. Secure it now at acct-verify.co
WINNER!! As a valued network customer you have been selected for a £900 reward.
Hi dear, I am a widow with 4.5 million dollars and need your help to transfer it.
Free ringtones! Text TONE to 87121, £3 per week, cancel anytime.
Your subscription renews today for £89.99. To cancel, log in at billing-help.info
Make money fast with our proven crypto trading bot. Join 20,000 happy investors.
Last chance! Your reward points expire tonight. Redeem them here.
Hey, I found a photo of you online, is this you? bit.ly/3xF9q
Your HMRC self assessment refund is ready. Click to claim before it expires.
Cheap flights to anywhere for £9! Offer ends soon, book now.
You have 1 new voicemail. Listen here: vm-inbox-service.com
Congratulations! You are our 1,000,000th visitor. Collect your prize now.
Get rich quick with this secret stock tip, up 400% this month!
Warning: your computer is infected with 3 viruses. Download our cleaner now.
Reply STOP to stop, or reply GO to get 5 free spins at Lucky Star Casino.
Your DVLA vehicle tax payment was declined. Update your details to avoid a fine.
I can help you get a first-class degree certificate in any subject. Cheap.
Urgent business proposal: I need a trusted partner to receive funds. 30% is yours.
You've been chosen to test the new Samsung phone and keep it for free!
Your Apple ID has been locked for security reasons. Unlock it now.
Limited time: refinance your mortgage at 0.9%! Call our advisors today.
Private message from a secret admirer waiting for you. Text LOVE to 69696.
Free £50 betting credit when you sign up today. T&Cs apply.
Your package is held at customs. Pay £2.99 duty to release it.
Want to work from home and earn six figures? Click to find out how.
You won! Spin the wheel to reveal your prize: totally-real-prizes.biz
Hurry, only 3 left in stock at this crazy price!
Get verified followers fast, 10k for just £5.
Your electricity bill is overdue, pay immediately or face disconnection. Pay here.
Dear user, confirm your email to keep receiving our services.
Win a free PS5! Just answer one simple question. Enter now.
This is your final reminder to claim the £750 compensation you are owed.
Investment opportunity: gold-backed tokens, 15% monthly returns.
We've noticed you're eligible for a government grant of £2,500. Apply today.
Your Royal Mail parcel is waiting. Schedule delivery: rm-redeliver.com
Cash for your old phone, up to £400! Instant payment.
Meet beautiful women tonight, no credit card required.
""".splitlines()

HAM_OPENINGS = ["", "", "", "Hey, ", "Hi! ", "Morning, ", "Hiya, ", "Quick one: ", "Hi love, ", "Hey you, ",
                "So, ", "Oh, and ", "Hello! ", "Evening, ", "Right, "]
HAM_BODIES = [
    "could you pick up bread on the way back",
    "the meeting with Sarah got pushed to Thursday",
    "I've left the spare key with Mrs Patel next door",
    "we're thinking of going to the beach on Sunday if the weather holds",
    "did you remember to book the vet for Milo",
    "I'm stuck at work, can you start dinner",
    "the essay deadline has been extended to next week",
    "can you send me the notes from Tuesday's lecture",
    "my phone is nearly dead so I might not reply",
    "I saw your brother at the gym today",
    "we need to sort out the electricity bill before the end of the month",
    "I'm bringing the salad and Tom is doing the drinks",
    "the results are out, I passed",
    "are you free to help me paint the spare room this weekend",
    "can we talk about the budget tomorrow morning",
    "the bus is full so I'll walk",
    "I found your earring under the sofa",
    "what time does your train get in",
    "I'm at the supermarket, do we need eggs",
    "I've finally fixed the dripping tap",
    "the kids want pancakes for breakfast",
    "can you forward me that email from the school",
    "I think I'll skip football tonight, my knee hurts",
    "the washing machine is making that noise again",
    "I've signed us up for the pub quiz on Thursday",
    "the new neighbours seem really nice",
    "I'll drop the books back at the library tomorrow",
    "let me know when you've landed",
    "the garden centre has those plants you wanted",
    "can you move your car, I'm blocked in",
    "I've put the chicken in the oven",
    "our team won the hackathon",
    "I'll need the car on Saturday morning for the market",
    "the band is playing at the Crown tonight",
    "I forgot my lunch, any chance you could drop it off",
    "the appointment is at the clinic on High Street, not the hospital",
]
HAM_CLOSINGS = ["", "", "", ".", ". Thanks!", ". Cheers", ". Love you x", ". See you later", " :)", ". No rush.",
                ". Let me know", "?", ". Ta", "! Speak soon", ". x"]

SPAM_HOOKS = ["", "", "URGENT! ", "Congratulations! ", "FINAL NOTICE: ", "Dear valued customer, ", "WINNER! ",
              "Attention: ", "You're a lucky winner! ", "Security alert: ", "Good news! ", "LAST CHANCE: ",
              "Exclusive: "]
SPAM_OFFERS = [
    "you have won a £2,000 shopping voucher",
    "your account will be closed unless you verify your identity",
    "you qualify for a tax rebate of £612",
    "a free iPad is reserved in your name",
    "your mobile number was drawn in our £10,000 prize draw",
    "we are holding a parcel for you with an unpaid shipping fee",
    "you can earn up to £300 a day working from your phone",
    "your loan of £5,000 has been approved with no credit check",
    "you have been selected for a free luxury weekend in Paris",
    "your bank card has been temporarily frozen",
    "you are entitled to £1,800 in compensation for your accident",
    "our guaranteed crypto plan turns £250 into £2,500 in a week",
    "your mailbox will be deleted in 24 hours",
    "you've got 200 free spins waiting at our casino",
    "an unusual sign-in was blocked on your account",
    "you have an unclaimed cash reward of £450",
    "miracle pills melt belly fat while you sleep",
    "your TV licence payment failed",
    "you can get 80% off all Ray-Ban sunglasses today",
    "a government energy grant of £400 is waiting for you",
    "your phone contract qualifies for a free upgrade",
    "your Paypal account is limited until you confirm your details",
    "we have a job offer for you paying £45 an hour from home",
    "your prize of a brand new Mercedes is ready for collection",
]
SPAM_CALLS = [". Click the link to claim: claim-now-fast.com", ". Reply YES to accept", ". Call 09061 701 461 now",
              ". Text CLAIM to 88600", ". Visit secure-verify-account.net within 24 hours",
              ". Offer expires tonight, act fast!", ". Tap here: tinyurl.com/prize-4u", "!!! Claim now",
              ". To receive it, send your full name and bank details", ". Don't miss out, reply NOW",
              ". Log in here to avoid suspension: update-info-secure.com", ". Call free on 0800 123 4567",
              ". Std txt rates apply, reply STOP to opt out", ". Limited places, register today!"]


QUESTION_STARTS = ("can ", "could ", "did ", "are ", "what ", "do ")
QUESTION_CLOSINGS = ["?", "?", "? Thanks!", "? Cheers", "? x", "? No rush."]


def composed(openings, bodies, closings, count, rng):
    """`count` distinct (message, body) pairs, each message an opening, a body and a closing."""
    seen, out = set(), []
    while len(out) < count:
        opening, body = rng.choice(openings), rng.choice(bodies)
        closing = rng.choice(QUESTION_CLOSINGS if body.startswith(QUESTION_STARTS) else closings)
        if closing in ("", " :)"):
            closing = "." if closing == "" else closing
        start = body[0].upper() + body[1:] if not opening or opening.endswith(("! ", ". ")) else body
        text = f"{opening}{start}{closing}"
        if text not in seen:
            seen.add(text)
            out.append((text, body))
    return out


def main() -> None:
    rng = random.Random(SEED)
    # (text, label, group): a composed message's group is its body, so that messages sharing a body
    # all fall in the same split and the test split never holds a body seen in training.
    rows = [(t, "ham", t) for t in HAM_WHOLE if t] + [(t, "spam", t) for t in SPAM_WHOLE if t]
    rows += [(t, "ham", body) for t, body in composed(HAM_OPENINGS, HAM_BODIES, HAM_CLOSINGS, 240, rng)]
    rows += [(t, "spam", body) for t, body in composed(SPAM_HOOKS, SPAM_OFFERS, SPAM_CALLS, 230, rng)]
    rows = list({text: (text, label, group) for text, label, group in rows}.values())  # no repeated text
    rng.shuffle(rows)
    # 70/15/15 of each label's groups, in shuffled order.
    split = {}
    for label in ("ham", "spam"):
        groups = list(dict.fromkeys(group for _, lab, group in rows if lab == label))
        rng.shuffle(groups)
        n = len(groups)
        for i, group in enumerate(groups):
            split[group] = "train" if i < 0.7 * n else "dev" if i < 0.85 * n else "test"
    with open(HERE / "messages.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label", "split"])
        writer.writerows((text, label, split[group]) for text, label, group in rows)


if __name__ == "__main__":
    main()
