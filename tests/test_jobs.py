"""The server's queues (app/jobs.py): long jobs one at a time, places reported, classroom size cap;
page runs one at a time, a long job's page leaving its turn; and the pages wired to them
(router.py and components/job_wait.py, through app/services.py)."""
import socket
import threading

import pytest
from streamlit.testing.v1 import AppTest

from app import jobs, model_access, services
from app.inputs import MAX_SENTENCES
from components.job_wait import page_queue, server_queue, waiting_text


def test_two_jobs_never_overlap_and_the_second_reports_its_place():
    queue = jobs.JobQueue(poll_s=0.01)
    events, places = [], []
    first_running, release_first = threading.Event(), threading.Event()
    active, most_active = [0], [0]
    lock = threading.Lock()

    def job(name, hold=None):
        with queue.turn(on_wait=lambda ahead, waited_s: places.append((name, ahead))):
            with lock:
                active[0] += 1
                most_active[0] = max(most_active[0], active[0])
                events.append(("start", name))
            if hold is not None:
                first_running.set()
                hold.wait(timeout=30)
            with lock:
                events.append(("end", name))
                active[0] -= 1

    first = threading.Thread(target=job, args=("first", release_first))
    first.start()
    assert first_running.wait(timeout=30)
    second = threading.Thread(target=job, args=("second",))
    second.start()
    for _ in range(3000):  # the second has reported its place at least twice while the first holds the server
        if places.count(("second", 1)) >= 2:
            break
        threading.Event().wait(0.01)
    assert places.count(("second", 1)) >= 2
    assert queue.ahead() == 2                      # one running, one waiting
    assert ("start", "second") not in events       # still waiting: the first has not finished
    release_first.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert events == [("start", "first"), ("end", "first"), ("start", "second"), ("end", "second")]
    assert most_active[0] == 1
    assert {name for name, _ in places} == {"second"}  # the first never waited
    assert queue.ahead() == 0


def test_places_count_down_in_arrival_order():
    queue = jobs.JobQueue(poll_s=0.01)
    order, places = [], {}
    gate = threading.Event()
    holder_in = threading.Event()

    def holder():
        with queue.turn():
            holder_in.set()
            gate.wait(timeout=30)

    def waiter(name):
        with queue.turn(on_wait=lambda ahead, _: places.setdefault(name, []).append(ahead)):
            order.append(name)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    assert holder_in.wait(timeout=30)
    for name in ("b", "c"):
        threads.append(threading.Thread(target=waiter, args=(name,)))
        threads[-1].start()
        for _ in range(3000):  # wait until this one has queued, so arrival order is fixed
            if name in places:
                break
            threading.Event().wait(0.01)
    assert places["b"][0] == 1 and places["c"][0] == 2
    gate.set()
    for thread in threads:
        thread.join(timeout=30)
    assert order == ["b", "c"]
    assert places["c"][-1] in (1, 2) and min(places["c"]) >= 1   # c never ran while b was ahead of it


def test_a_waiter_that_is_interrupted_gives_its_place_back():
    queue = jobs.JobQueue(poll_s=0.01)
    holding, release = threading.Event(), threading.Event()

    def holder():
        with queue.turn():
            holding.set()
            release.wait(timeout=30)

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(timeout=30)

    def navigate_away(ahead, waited_s):  # what Streamlit does when the student leaves the page
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), queue.turn(on_wait=navigate_away):
        pytest.fail("the job ran while another held the server")
    assert queue.ahead() == 1
    release.set()
    thread.join(timeout=30)
    with queue.turn():
        assert queue.ahead() == 1  # itself, running


def test_a_page_that_leaves_its_turn_lets_the_next_page_in():
    queue = jobs.JobQueue(poll_s=0.01)
    events = []
    left, job_done, b_done = threading.Event(), threading.Event(), threading.Event()

    def page_a():
        with queue.turn():
            events.append("A starts")
            queue.leave()                               # its long job begins
            left.set()
            assert job_done.wait(timeout=30)
            events.append("A ends")                     # without the turn: never waits for it again

    def page_b():
        with queue.turn():
            events.append("B runs")
        b_done.set()

    a = threading.Thread(target=page_a)
    a.start()
    assert left.wait(timeout=30)
    b = threading.Thread(target=page_b)
    b.start()
    assert b_done.wait(timeout=30)                      # B ran while A's job was still going
    job_done.set()
    a.join(timeout=30)
    b.join(timeout=30)
    assert events == ["A starts", "B runs", "A ends"]
    assert queue.ahead() == 0


def test_two_pages_sharing_one_cached_long_job_do_not_deadlock():
    """A's long job runs inside a cached function (holding its compute lock); B's page, holding the
    turn, asks for the same result and waits for that lock. A must finish without the turn."""
    queue = jobs.JobQueue(poll_s=0.01)
    compute_lock = threading.Lock()   # what Streamlit's cache holds while one session computes a value
    in_job, b_waiting, release_job = threading.Event(), threading.Event(), threading.Event()
    finished = []

    def page_a():
        with queue.turn():
            with compute_lock:                         # the cached function starts…
                queue.leave()                          # …and its long job gives the turn up
                in_job.set()
                assert release_job.wait(timeout=30)
            finished.append("A")

    def page_b():
        with queue.turn():
            b_waiting.set()
            with compute_lock:                         # the same cached result: waits for A's
                finished.append("B")

    a = threading.Thread(target=page_a)
    a.start()
    assert in_job.wait(timeout=30)
    b = threading.Thread(target=page_b)
    b.start()
    assert b_waiting.wait(timeout=30)
    release_job.set()
    a.join(timeout=10)
    b.join(timeout=10)
    assert not a.is_alive() and not b.is_alive()
    assert sorted(finished) == ["A", "B"] and queue.ahead() == 0


def test_a_page_whose_main_view_is_drawn_lets_the_waiting_pages_draw_theirs_first():
    """later(): A draws its main view, B and C (waiting, in that order) draw theirs, then each draws the rest
    in the same order; one page at a time throughout."""
    queue = jobs.JobQueue(poll_s=0.01)
    events, overlaps = [], []
    drawing = threading.Lock()        # held while a page draws: never contended if pages take turns
    a_in, release_a = threading.Event(), threading.Event()

    def draw(event, hold=None):
        if not drawing.acquire(blocking=False):
            overlaps.append(event)
            return
        events.append(event)
        if hold is not None:
            a_in.set()
            assert hold.wait(timeout=30)
        drawing.release()

    def page(name, hold=None):
        with queue.turn():
            draw(f"{name} main view", hold)
            queue.later()
            draw(f"{name} rest")

    a = threading.Thread(target=page, args=("A", release_a))
    a.start()
    assert a_in.wait(timeout=30)
    b = threading.Thread(target=page, args=("B",))
    b.start()
    while queue.ahead() < 2:          # B waits behind A before C arrives
        threading.Event().wait(0.01)
    c = threading.Thread(target=page, args=("C",))
    c.start()
    while queue.ahead() < 3:
        threading.Event().wait(0.01)
    release_a.set()
    for thread in (a, b, c):
        thread.join(timeout=30)
    assert events == ["A main view", "B main view", "C main view", "A rest", "B rest", "C rest"]
    assert overlaps == [] and queue.ahead() == 0


def test_later_alone_or_without_the_turn_keeps_going():
    queue = jobs.JobQueue(poll_s=0.01)
    queue.later()                     # no turn (a fragment's rerun): nothing to give up, no wait
    with queue.turn():
        queue.later()                 # nobody waiting: the turn is kept
        assert queue.ahead() == 1
    assert queue.ahead() == 0


def test_leaving_without_the_turn_does_nothing():
    queue = jobs.JobQueue(poll_s=0.01)
    holder_in, release = threading.Event(), threading.Event()

    def holder():
        with queue.turn():
            holder_in.set()
            assert release.wait(timeout=30)

    thread = threading.Thread(target=holder)
    thread.start()
    assert holder_in.wait(timeout=30)
    queue.leave()                     # another thread's turn is not this thread's to give up
    assert queue.ahead() == 1
    release.set()
    thread.join(timeout=30)
    assert queue.ahead() == 0


def test_a_page_run_waits_for_the_one_before_it():
    """A second session's page run starts only when the run that holds the server's page turn ends."""
    queue = page_queue()
    saw_waiter, holding = threading.Event(), threading.Event()

    def another_students_run():
        with queue.turn():
            holding.set()
            for _ in range(6000):  # until this test's page run has queued behind this one
                if queue.ahead() == 2:
                    saw_waiter.set()
                    break
                threading.Event().wait(0.01)

    holder = threading.Thread(target=another_students_run)
    holder.start()
    assert holding.wait(timeout=30)
    at = AppTest.from_file("../router.py", default_timeout=180)
    at.switch_page("app/pages/tokens.py").run()
    holder.join(timeout=60)
    assert saw_waiter.is_set()                                   # it waited for the other run
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Tokens and embeddings"         # then ran as usual
    assert queue.ahead() == 0


@pytest.mark.parametrize("mode, limit, expected", [
    (None, None, None), ("personal", "10", None), ("classroom", None, jobs.DEFAULT_CLASSROOM_MAX_ITEMS),
    ("Classroom", "500", 500), ("classroom", "0", jobs.DEFAULT_CLASSROOM_MAX_ITEMS),
    ("classroom", "lots", jobs.DEFAULT_CLASSROOM_MAX_ITEMS),
])
def test_the_size_cap_applies_in_classroom_mode_only(monkeypatch, mode, limit, expected):
    for name, value in (("BERT_EXPLORER_MODE", mode), ("BERT_EXPLORER_MAX_JOB_ITEMS", limit)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert jobs.max_job_items(model_access.read_access().classroom) == expected


def test_a_job_over_the_cap_is_refused_with_what_to_do():
    jobs.check_size("This table", 500, 500)
    jobs.check_size("This table", 10**6, None)
    with pytest.raises(jobs.JobRefused, match="501 rows; this classroom server runs jobs of up to 500 rows") as refused:
        jobs.check_size("This table", 501, 500)
    assert "python -m app" in str(refused.value)


def test_waiting_text_says_the_place():
    assert waiting_text(2, 12.4).startswith("Waiting: 2 jobs ahead of yours (12 s so far)")
    assert waiting_text(1, 0).startswith("Waiting: 1 job ahead of yours")


def test_classroom_refuses_a_large_table_on_the_page(monkeypatch):
    monkeypatch.setenv("BERT_EXPLORER_MODE", "classroom")
    monkeypatch.setenv("BERT_EXPLORER_MAX_JOB_ITEMS", "100")   # the example set has 262 rows
    services.server_access.clear()                              # the mode is read once per server
    services.word_senses.clear()                                # a result cached by an earlier test is no job
    at = AppTest.from_file("../router.py", default_timeout=180)
    at.switch_page("app/pages/word_senses.py").run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error)
    assert "This table has 262 rows; this classroom server runs jobs of up to 100 rows" in errors
    assert not at.get("plotly_chart")                            # nothing computed
    services.server_access.clear()                              # the next test's server is a personal one


def test_a_long_job_on_a_page_waits_for_the_server_queue():
    """While another job holds the server, a page's long job waits in the queue, then runs."""
    queue = server_queue()
    sentences = "\n".join(f"Sentence number {n} is about a cat." for n in range(jobs.QUEUE_ABOVE + 6))
    saw_waiter = threading.Event()
    holding = threading.Event()

    pages_free_meanwhile = []

    def hold_the_server():
        with queue.turn():
            holding.set()
            for _ in range(6000):  # until the page's job has queued behind this one
                if queue.ahead() == 2:
                    saw_waiter.set()
                    pages_free_meanwhile.append(page_queue().ahead())
                    break
                threading.Event().wait(0.01)

    at = AppTest.from_file("../router.py", default_timeout=180)
    at.switch_page("app/pages/sentence_embeddings.py").run()
    assert not at.exception, [e.value for e in at.exception]
    holder = threading.Thread(target=hold_the_server)
    holder.start()
    assert holding.wait(timeout=30)
    at.text_area(key="sentences").input(sentences)
    next(b for b in at.button if b.label == "Embed").click().run()
    holder.join(timeout=60)
    assert saw_waiter.is_set()
    assert pages_free_meanwhile == [0]      # the waiting job's page gave up its page turn: other pages run
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) >= 1                      # it ran once its turn came
    assert queue.ahead() == 0


@pytest.mark.browser
def test_a_student_behind_a_long_job_sees_the_place_then_the_results(chromium, screenshots):
    """Two students in Chromium: the first embeds many sentences; the second, submitting while that
    runs, sees "Waiting: 1 job ahead of yours", then its own results."""
    from bench.browser import streamlit_server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with streamlit_server(port) as url:
        first, second = (chromium.new_page(viewport={"width": 1400, "height": 900}) for _ in range(2))
        for page in (first, second):
            page.goto(f"{url}/sentence_embeddings", wait_until="domcontentloaded")
            page.get_by_label("One sentence per line").wait_for(timeout=180_000)
        # Typing a thousand lines key by key takes minutes: set the text area's value as a paste would.
        first.get_by_label("One sentence per line").evaluate(
            """(area, text) => {
                Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set.call(area, text);
                area.dispatchEvent(new Event("input", {bubbles: true}));
            }""", "\n".join(f"The first student wrote sentence {n} about a long river." for n in range(MAX_SENTENCES)))
        second.get_by_label("One sentence per line").fill(
            "\n".join(f"The second student wrote sentence {n}." for n in range(jobs.QUEUE_ABOVE + 10)))
        first.get_by_role("button", name="Embed", exact=True).click()
        first.get_by_text("Embedding:").first.wait_for(timeout=180_000)   # the first job holds the server
        second.get_by_role("button", name="Embed", exact=True).click()
        waiting = second.get_by_text("Waiting: 1 job ahead of yours")
        waiting.wait_for(timeout=120_000)
        second.screenshot(path=str(screenshots / "job_waiting.png"))
        waiting.wait_for(state="detached", timeout=600_000)
        second.get_by_text(f"{jobs.QUEUE_ABOVE + 10} sentences: the heatmap shows").wait_for(timeout=300_000)
        assert second.get_by_text("Waiting:").count() == 0
        assert not second.locator("[data-testid=stException]").count()
        assert not first.locator("[data-testid=stException]").count()
        first.get_by_text(f"{MAX_SENTENCES} sentences: the heatmap shows").wait_for(timeout=300_000)  # done too


def _script_with_a_progress_bar_in_a_cached_function():
    import streamlit as st

    from app.services import ProgressBar

    @st.cache_data(show_spinner="Computing…")
    def work():
        bar = ProgressBar("Indexing:")
        bar.progress(0.3, text="Indexing: 3/10 sentences")
        return 1

    work()


def test_a_long_jobs_progress_bar_sits_below_the_line_the_cache_spinner_covers():
    """Streamlit draws a cached function's spinner over the first element the function writes (seen in
    headless Chromium: the bar's text hidden, half its fill covered); the bar's blank first line takes that."""
    at = AppTest.from_function(_script_with_a_progress_bar_in_a_cached_function).run()
    assert not at.exception
    (box,) = at.main.children.values()
    first, second = box.children.values()
    assert first.type == "markdown" and first.value == "&nbsp;"
    assert second.type == "progress" and second.proto.value == 30 and second.proto.text == "Indexing: 3/10 sentences"
