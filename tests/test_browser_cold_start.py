"""`streamlit run streamlit_app.py` as a person starts it: the model loads before any browser
connects, a shared link to the Attention views page draws, and there is no Deploy button."""
from __future__ import annotations

import subprocess
import sys
import threading
import urllib.request
from urllib.parse import quote

import pytest

from bench.browser import is_local, server_process, wait_for_head_view

PORT = 8514
SENTENCE = "The cat sat on the mat."


def wait_for_line(server: subprocess.Popen, text: str, seen: list[str], timeout: float = 180) -> None:
    """Read the server's output until a line contains `text` (fails on exit or after `timeout` s)."""
    found = threading.Event()

    def read() -> None:
        for line in server.stdout:
            seen.append(line)
            if text in line:
                found.set()
    threading.Thread(target=read, daemon=True).start()
    assert found.wait(timeout), f"no {text!r} in the server's output:\n{''.join(seen)[-3000:]}"


@pytest.mark.browser
def test_model_loads_at_server_start_and_the_page_has_no_deploy_button(chromium, screenshots):
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(PORT),
               "--server.headless", "true", "--server.fileWatcherType", "none"]
    output: list[str] = []
    with server_process(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as server:
        # No browser has connected yet: the server loads the model on its own.
        wait_for_line(server, "all-MiniLM-L6-v2 loaded at start-up", output)
        with urllib.request.urlopen(f"http://localhost:{PORT}/_stcore/health", timeout=10) as answer:
            assert answer.status == 200

        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"http://localhost:{PORT}/attention?a={quote(SENTENCE)}&b=", wait_until="domcontentloaded")
        # d3 and jQuery come from app/static/ (static serving still on), or the head view would not draw.
        wait_for_head_view(page, ["[CLS]", "the", "cat", "sat", "on", "the", "mat", ".", "[SEP]"], timeout_ms=120_000)
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
        page.screenshot(path=str(screenshots / "cold_start_attention.png"))

        assert page.get_by_role("button", name="Deploy").count() == 0
        assert page.get_by_text("Deploy", exact=True).count() == 0
        page.get_by_test_id("stMainMenu").click()  # the menu a student uses is still there
        menu = page.get_by_test_id("stMainMenuList")
        menu.get_by_text("Print", exact=True).wait_for(timeout=10_000)
        assert page.get_by_test_id("stMainMenuItem-theme-Dark").count() == 1  # the theme switch
        assert menu.get_by_text("Clear cache", exact=True).count() == menu.get_by_text("Rerun").count() == 0
        page.screenshot(path=str(screenshots / "cold_start_menu.png"))
        assert all(is_local(url) for url in requests), [url for url in requests if not is_local(url)]
        assert not any("Traceback" in line for line in output), "".join(output)[-3000:]
