"""Lesson mode in real headless Chromium, with no network: the default lesson walked from its first step
to its last with the → key (and back once with ←), each step on its page with the panel, its state and
no exception; the presentation view; leaving the lesson. Screenshots of every step for a person to look at."""
from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlparse

import pytest

from app.lessons import DEFAULT_LESSON, LESSONS_DIR, load_lesson
from bench.browser import is_local, screenshot, streamlit_server, wait_until_idle

LESSON = load_lesson((LESSONS_DIR / f"{DEFAULT_LESSON}.toml").read_bytes())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def wait_for_step(page, number: int) -> None:
    """The panel shows step `number`, its page has finished drawing, and nothing failed."""
    step = LESSON.steps[number - 1]
    panel = page.locator(".st-key-lesson_panel")
    panel.get_by_role("heading", name=step.title, exact=True).wait_for(timeout=240_000)
    panel.get_by_text(f"step {number} of {len(LESSON.steps)}").wait_for(timeout=60_000)
    wait_until_idle(page, timeout_ms=300_000)
    assert page.locator("[data-testid='stException']").count() == 0, step.title
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('step') === '{number}'", timeout=60_000)
    assert urlparse(page.url).path.rstrip("/").endswith("/" + step.page), (page.url, step.page)


def press(page, key: str) -> None:
    """A key pressed with the focus on the page (the panel's heading), not in a field."""
    page.locator(".st-key-lesson_panel h3").first.click()
    page.keyboard.press(key)


@pytest.mark.browser
def test_the_default_lesson_walked_with_the_arrow_keys(chromium, screenshots):
    requests: list[str] = []
    with streamlit_server(free_port(), timeout=240) as url:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"{url}/lesson?lesson={DEFAULT_LESSON}&step=1", wait_until="domcontentloaded", timeout=240_000)
        for number, step in enumerate(LESSON.steps, start=1):
            wait_for_step(page, number)
            if step.highlight:  # the element the step names is outlined
                page.locator(".lesson-highlight").first.wait_for(timeout=30_000)
                assert page.locator(".lesson-highlight").first.inner_text().strip().startswith(step.highlight)
            if number == 3:  # the step's state reached the page's widgets: Inside one head, layer 6, head 12
                assert page.get_by_role("combobox", name="Layer").input_value() == "6"
                assert page.get_by_role("combobox", name="Head").input_value() == "12"
                page.get_by_text("Most of it comes from “cat” (71%)").wait_for()
            if number == 4:  # the same names (?layer=&head=) bound on another page: still the step's
                assert page.get_by_role("combobox", name="Layer").input_value() == "6"
                page.get_by_text("Layer 6, head 12").first.wait_for()
            screenshot(page, screenshots, f"lesson_step{number:02d}")
            if number == 2:  # ← goes back once, → forward again
                press(page, "ArrowLeft")
                wait_for_step(page, 1)
                press(page, "ArrowRight")
                wait_for_step(page, 2)
            if number < len(LESSON.steps):
                press(page, "ArrowRight")
        assert page.locator(".st-key-lesson_next button").first.is_disabled()  # the last step

        # A shared link of a step, in a new browser, opens that step on its page.
        shared = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        shared.goto(f"{url}/lesson?lesson={DEFAULT_LESSON}&step=4", wait_until="domcontentloaded", timeout=240_000)
        wait_for_step(shared, 4)

        # The presentation view: no sidebar, the panel beside the figure, larger type.
        shared.locator(".st-key-lesson_present button").first.click()
        shared.wait_for_function("() => new URLSearchParams(location.search).get('present') === 'true'")
        wait_until_idle(shared)
        assert not shared.get_by_test_id("stSidebar").is_visible()
        panel = shared.locator(".st-key-lesson_panel").bounding_box()
        heading = shared.get_by_role("heading", name="Attention views").bounding_box()
        assert panel["x"] + panel["width"] <= heading["x"]  # side by side
        size = shared.locator(".st-key-lesson_panel p").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 22
        shared.screenshot(path=str(screenshots / "lesson_presentation.png"))
        press(shared, "ArrowRight")
        wait_for_step(shared, 5)
        assert "present" in query(shared)  # the presentation view stays on from step to step

        # Leaving the lesson keeps the page as it is.
        shared.locator(".st-key-lesson_leave button").first.click()
        shared.wait_for_function("() => !new URLSearchParams(location.search).has('step')", timeout=60_000)
        wait_until_idle(shared)
        assert shared.locator(".st-key-lesson_panel").count() == 0
        shared.get_by_role("heading", name="Syntactic heads: a treebank").wait_for()
        assert shared.get_by_test_id("stSidebar").is_visible()
        assert shared.get_by_role("combobox", name="Relation").input_value() == "dobj"   # the step's relation
    assert [u for u in requests if not is_local(u)] == []
