"""Driving the app in Debian's headless Chromium: a Streamlit server, a browser, the sentence form.

Shared by the bench scripts and the browser tests. No network is used: the server runs
headless on localhost and every request the page makes is recorded so callers can check that.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
LOCAL_SCHEMES = {"data", "blob", "about"}


@contextlib.contextmanager
def server_process(command: list[str], **popen_options) -> Iterator[subprocess.Popen]:
    """Run `command` from the repository root; on exit stop it (terminate, then kill after 10 s)."""
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, **popen_options)
    try:
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def wait_for_health(server: subprocess.Popen, url: str, timeout: float = 120.0, interval: float = 0.5) -> None:
    """Poll Streamlit's health endpoint every `interval` s until it answers 200."""
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            said = server.stderr.read() if server.stderr else b""
            said = said.decode(errors="replace") if isinstance(said, bytes) else said
            raise RuntimeError(f"streamlit exited: {said[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"streamlit did not answer at {url} within {timeout:.0f} s")
        time.sleep(interval)


@contextlib.contextmanager
def streamlit_server(port: int, timeout: float = 120.0) -> Iterator[str]:
    """Run `streamlit run streamlit_app.py` headless on `port`; yields the base URL once it answers."""
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    with server_process(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as server:
        url = f"http://localhost:{port}"
        wait_for_health(server, url, timeout)
        yield url


def is_local(url: str) -> bool:
    """True for requests that stay on this machine (localhost, or data:/blob:/about: URLs)."""
    parsed = urlparse(url)
    return parsed.scheme in LOCAL_SCHEMES or parsed.hostname in LOCAL_HOSTS


def type_sentences(page, text_a: str, text_b: str = "") -> None:
    """Type the sentences into the sidebar form (without pressing Run)."""
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_label("Sentence A").fill(text_a)
    sidebar.get_by_label("Sentence B (optional)").fill(text_b)


def press_run(page) -> None:
    page.get_by_test_id("stSidebar").get_by_role("button", name="Run").click()


def submit_sentence(page, text_a: str, text_b: str = "") -> None:
    """Type the sentences into the sidebar form and press Run."""
    type_sentences(page, text_a, text_b)
    press_run(page)


def wait_until_idle(page, timeout_ms: float = 120_000) -> None:
    """Streamlit shows its status widget while a script runs; wait for it to go, then for plotly's paint."""
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=timeout_ms)
    page.wait_for_timeout(800)


def screenshot(page, folder, name: str) -> int:
    """The whole page: Streamlit scrolls inside its main block, so grow the window to its height first.
    Returns how many plotly charts the page drew (Streamlit draws charts only once they are in view)."""
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 6000)})
    wait_until_idle(page)
    page.screenshot(path=str(folder / f"{name}.png"))
    charts = page.locator("[data-testid=stPlotlyChart] .main-svg").count()
    page.set_viewport_size({"width": 1400, "height": 1000})
    return charts


_HEAD_VIEW_SHOWS = """expected => {
    const frame = document.querySelector('iframe[title^="Head view"]');
    const doc = frame && frame.contentDocument;
    if (!doc) return false;
    const texts = Array.from(doc.querySelectorAll('#vis svg text'), element => element.textContent);
    const shown = texts.length === expected.length && texts.every((text, i) => text === expected[i]);
    if (shown) window.headViewShownAt = performance.now();  // for bench/attention_view.py's clock
    return shown;
}"""


def wait_for_head_view(page, tokens: list[str], timeout_ms: float = 60_000) -> None:
    """Wait until the head view's iframe has drawn exactly `tokens` on both sides (SVG text elements)."""
    page.wait_for_function(_HEAD_VIEW_SHOWS, arg=tokens + tokens, polling=10, timeout=timeout_ms)
