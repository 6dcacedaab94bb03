"""The head view: bytes sent to the browser and time from submit to drawn, ours vs bertviz's own HTML.

For inputs of about 16, 128 and 512 word pieces (UD English EWT dev sentences, joined):
- ours, end to end in the real app: a Streamlit server on localhost and headless Chromium; the
  sentence is typed into the sidebar form, Run is clicked, and the page's own clock runs from the
  click to the head view's iframe holding every token on both sides (SVG text, polled every
  10 ms). Each repetition uses a new sentence (a different first word), so the model really runs
  each time. We report the head view's HTML size (what st.iframe sends: d3 and jQuery are linked
  from the app's static route, which the browser caches), all bytes the server
  sent over the websocket after the click, the time until the whole page is done (script
  finished, heatmap drawn), and, in this process (all cores, not the app's settings), the time of
  our forward plus layer 1's maps and the Python time to build the head view HTML from them;
- bertviz, as its users run it: transformers' BertModel(output_attentions=True) on the same
  checkpoint and input, then bertviz.head_view(attention, tokens, html_action="return"): its
  HTML size and build time (it embeds every layer's T×T weights as JSON; no browser can draw
  the 512-token one in reasonable time, so its drawing is not timed).
Repetitions interleave bertviz and ours, the order alternating, and medians are reported.

    python bench/attention_view.py [--reps 3] [--port 8511] [--tokens 16 128 512] [--max-bertviz-tokens 512]

prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from app.attention import attention_view, run_attention  # noqa: E402
from bench.browser import CHROMIUM, CHROMIUM_ARGS, press_run, streamlit_server, type_sentences, wait_for_head_view  # noqa: E402
from bench.ewt import read_sentences  # noqa: E402
from bert_core import default_checkpoint, encode, load_pretrained  # noqa: E402
from components.bertviz_views import head_view_html  # noqa: E402

FIRST_WORDS = ["Today", "Yesterday", "Then", "Later", "Still", "Meanwhile", "Again", "Now"]


def ewt_text(tokenizer, pieces: int, first_word: str) -> str:
    """EWT dev sentences joined until the input has about `pieces` word pieces ([CLS]/[SEP] included)."""
    words = [first_word]
    for sentence in read_sentences():
        for word in sentence.split():
            if len(encode(tokenizer, " ".join(words + [word]), max_length=10_000)) > pieces:
                return " ".join(words)
            words.append(word)
    return " ".join(words)


def bertviz_head_view(hf_model, tokenizer, text: str) -> tuple[int, float, float]:
    """(HTML bytes, forward seconds, head_view build seconds) for bertviz's head view of `text`."""
    from bertviz import head_view

    batch = tokenizer(text, truncation=True, max_length=512, return_tensors="pt")
    start = time.perf_counter()
    with torch.inference_mode():
        attentions = hf_model(**batch, output_attentions=True).attentions
    forward = time.perf_counter() - start
    tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][0])
    start = time.perf_counter()
    html = head_view(attentions, tokens, html_action="return").data
    build = time.perf_counter() - start
    return len(html.encode()), forward, build


def our_head_view_build(model, tokenizer, text: str) -> tuple[int, float, float]:
    """(HTML bytes, seconds for the forward and layer 0's maps (what the head view needs), seconds to
    build our head view of layer 0 from them)."""
    start = time.perf_counter()
    run = run_attention(model, tokenizer, text)
    run.layer(0)
    forward = time.perf_counter() - start
    start = time.perf_counter()
    view = attention_view(run, 0)
    html = head_view_html(weights=view.weights, from_labels=view.from_labels, to_labels=view.to_labels,
                          layer=0, key="attention-head-view", inline_scripts=False)  # as the page sends it
    return len(html.encode()), forward, time.perf_counter() - start


def submit_and_draw(page, text: str, tokens: list[str], received: list[int]) -> tuple[float, float, int]:
    """(seconds from the Run click to the head view drawn, to the whole script run finished and its
    output shown, websocket bytes received meanwhile). The sentence is typed first; the clock is the
    page's own (performance.now()): it starts when the click reaches the page and stops when the
    head view's tokens are in the iframe (polled every 10 ms), so Playwright's round trips do not count."""
    type_sentences(page, text)
    page.evaluate("""() => { window.headViewShownAt = null;
        document.addEventListener('click', () => { window.runClickedAt = performance.now(); },
                                  {capture: true, once: true}); }""")
    before = sum(received)
    press_run(page)
    wait_for_head_view(page, tokens, timeout_ms=300_000)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=300_000)
    page.get_by_test_id("stPlotlyChart").locator(".main-svg").first.wait_for()
    clicked, drawn, done = page.evaluate("() => [window.runClickedAt, window.headViewShownAt, performance.now()]")
    return (drawn - clicked) / 1000, (done - clicked) / 1000, sum(received) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--port", type=int, default=8511)
    parser.add_argument("--tokens", type=int, nargs="+", default=[16, 128, 512])
    parser.add_argument("--max-bertviz-tokens", type=int, default=512,
                        help="skip bertviz above this size (its 512-token HTML needs ~6 GB of memory)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright
    from transformers import BertModel as HFBertModel

    model, tokenizer = load_pretrained(device="cpu")
    hf_model = HFBertModel.from_pretrained(str(default_checkpoint()), attn_implementation="eager").eval()
    points = {}
    with streamlit_server(args.port) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        received: list[int] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: received.append(len(frame))))
        page.goto(f"{url}/attention", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Attention views").wait_for(timeout=120_000)
        warm_up = ewt_text(tokenizer, 24, "First")  # loads plotly.js in the page, bertviz's scripts here
        submit_and_draw(page, warm_up, encode(tokenizer, warm_up).tokens, received)
        our_head_view_build(model, tokenizer, warm_up)
        for pieces in args.tokens:
            (ours_s, ours_done, ours_ws, ours_forward, ours_build,
             bv_bytes, bv_forward, bv_build) = ([] for _ in range(8))
            for rep in range(args.reps):
                text = ewt_text(tokenizer, pieces, FIRST_WORDS[rep % len(FIRST_WORDS)])
                tokens = encode(tokenizer, text).tokens
                with_bertviz = len(tokens) <= args.max_bertviz_tokens
                for turn in ((0, 1) if rep % 2 == 0 else (1, 0)):
                    if turn == 0:
                        drawn, done, ws_bytes = submit_and_draw(page, text, tokens, received)
                        ours_s.append(drawn)
                        ours_done.append(done)
                        ours_ws.append(ws_bytes)
                        html_bytes, forward, build = our_head_view_build(model, tokenizer, text)
                        ours_forward.append(forward)
                        ours_build.append(build)
                    elif with_bertviz:
                        size, forward, build = bertviz_head_view(hf_model, tokenizer, text)
                        bv_bytes.append(size)
                        bv_forward.append(forward)
                        bv_build.append(build)
            point = {"tokens": len(tokens), "ours_head_view_bytes": html_bytes,
                     "ours_websocket_bytes_after_submit": int(statistics.median(ours_ws)),
                     "ours_submit_to_drawn_s": round(statistics.median(ours_s), 3),
                     "ours_submit_to_page_done_s": round(statistics.median(ours_done), 3),
                     "ours_forward_s": round(statistics.median(ours_forward), 3),
                     "ours_head_view_build_s": round(statistics.median(ours_build), 4)}
            if bv_bytes:
                point.update({"bertviz_html_bytes": int(statistics.median(bv_bytes)),
                              "bertviz_forward_s": round(statistics.median(bv_forward), 3),
                              "bertviz_build_s": round(statistics.median(bv_build), 3),
                              "bytes_ratio_bertviz_over_ours": round(statistics.median(bv_bytes) / html_bytes, 1),
                              "build_ratio_bertviz_over_ours": round(statistics.median(bv_build)
                                                                     / statistics.median(ours_build), 1)})
            points[f"t{pieces}"] = point
        browser.close()
    print(json.dumps({"bench": "attention_view", "model": "all-MiniLM-L6-v2", "layer": 0, "reps": args.reps,
                      "machine": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                      "points": points}))


if __name__ == "__main__":
    main()
