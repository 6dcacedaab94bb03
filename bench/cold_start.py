"""Cold start: from `streamlit run` to the Attention views page drawn, against `import torch`.

In one run, on the same machine:
- the baseline: `python -c "import torch"`, timed from process start to exit;
- cold starts: `streamlit run streamlit_app.py --server.port P --server.headless true` started
  here; as soon as /_stcore/health answers, headless Chromium (already running, a fresh profile
  each time, so nothing is cached) opens /attention?a=<sentence>; the clock stops when the head
  view's iframe holds every token on both sides (as bench/attention_view.py detects it). Also
  timed: until health answers, and, in separate cold starts, until the home page is drawn
  (its title shown and the script finished).
Cold starts to the home page and to the Attention views page alternate; medians are reported,
with the ratio of the Attention views time to the baseline, against the goal of 2.5.

    python bench/cold_start.py [--reps 5] [--port 8521]

prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from bench.browser import CHROMIUM, CHROMIUM_ARGS, server_process, wait_for_head_view, wait_for_health  # noqa: E402
from bert_core import default_checkpoint, encode, load_tokenizer  # noqa: E402

GOAL = 2.5
SENTENCE = "The quick brown fox jumps over the lazy dog."


def import_torch_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    return time.perf_counter() - start


def cold_start(browser, port: int, path: str, drawn) -> tuple[float, float]:
    """(seconds to health OK, seconds until `drawn(page)` returns), both from `streamlit run`."""
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
               "--server.headless", "true"]
    url = f"http://localhost:{port}"
    start = time.perf_counter()
    with server_process(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        wait_for_health(server, url, timeout=300, interval=0.02)
        health = time.perf_counter() - start
        context = browser.new_context(viewport={"width": 1500, "height": 1100})
        page = context.new_page()
        page.goto(url + path, wait_until="commit")
        drawn(page)
        done = time.perf_counter() - start
        context.close()
    return health, done


def home_drawn(page) -> None:
    page.get_by_role("heading", name="BERT Explorer").wait_for(timeout=300_000)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=300_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--port", type=int, default=8521)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    tokens = encode(load_tokenizer(default_checkpoint()), SENTENCE).tokens
    baseline, health, home, attention = [], [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for rep in range(args.reps):
            baseline.append(import_torch_seconds())
            for kind in (("home", "attention") if rep % 2 == 0 else ("attention", "home")):
                if kind == "home":
                    answered, done = cold_start(browser, args.port, "/", home_drawn)
                    home.append(done)
                else:
                    answered, done = cold_start(browser, args.port, f"/attention?a={quote(SENTENCE)}&b=",
                                                lambda page: wait_for_head_view(page, tokens, timeout_ms=300_000))
                    attention.append(done)
                health.append(answered)
        browser.close()

    def median(values):
        return round(statistics.median(values), 2)

    ratio = statistics.median(attention) / statistics.median(baseline)
    print(json.dumps({"bench": "cold_start", "reps": args.reps, "sentence": SENTENCE, "tokens": len(tokens),
                      "machine": platform.processor() or platform.machine(), "cores": len(os.sched_getaffinity(0)),
                      "import_torch_s": median(baseline), "health_s": median(health), "home_s": median(home),
                      "attention_view_s": median(attention), "attention_over_import_torch": round(ratio, 2),
                      "goal": GOAL, "meets_goal": ratio <= GOAL,
                      "samples": {"import_torch_s": [round(v, 2) for v in baseline],
                                  "attention_view_s": [round(v, 2) for v in attention],
                                  "home_s": [round(v, 2) for v in home]}}))


if __name__ == "__main__":
    main()
