"""Page latency: time from submitting a sentence to the page rendered, Tokens and Inside one head pages.

For inputs of about 16, 128 and 512 word pieces (UD English EWT dev sentences, joined, as in
bench/attention_view.py), in the real app: a Streamlit server on localhost and headless Chromium;
the sentence is typed into the sidebar form, Run is clicked, and the clock stops when the page
shows the new input (its piece count, "N pieces" / "(N, H)") and the script run has finished.
Each repetition uses a new sentence (a different first word), so the model really runs; sizes
alternate so no page ever already shows the marker being waited for.

For scale, the same run times, interleaved with the page measurements, transformers' eager
BertModel(output_attentions=True) forward on the same input and checkpoint; `page_over_hf_forward`
is the page latency divided by that forward time (machine noise hits both).

    python bench/app_latency.py [--reps 3] [--port 8512] [--tokens 16 128 512]

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

from bench.attention_view import FIRST_WORDS, ewt_text  # noqa: E402
from bench.browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server, submit_sentence  # noqa: E402
from bert_core import default_checkpoint, encode, load_pretrained  # noqa: E402

PAGES = {"tokens": ("Tokens and embeddings", "{n} pieces"), "inside_head": ("Inside one head", "({n}, {h})")}
SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def submit_and_render(page, text: str, marker: str) -> float:
    """Seconds from clicking Run until `marker` is on the page and the script run has finished."""
    start = time.perf_counter()
    submit_sentence(page, text)
    page.get_by_text(marker).first.wait_for(timeout=300_000)
    page.wait_for_selector(SCRIPT_DONE, timeout=300_000)
    return time.perf_counter() - start


def hf_forward(hf_model, tokenizer, text: str) -> float:
    batch = tokenizer(text, truncation=True, max_length=512, return_tensors="pt")
    start = time.perf_counter()
    with torch.inference_mode():
        hf_model(**batch, output_attentions=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--port", type=int, default=8512)
    parser.add_argument("--tokens", type=int, nargs="+", default=[16, 128, 512])
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright
    from transformers import BertModel as HFBertModel

    model, tokenizer = load_pretrained(device="cpu")
    hidden = model.config.hidden_size
    hf_model = HFBertModel.from_pretrained(str(default_checkpoint()), attn_implementation="eager").eval()
    texts = {(pieces, rep): ewt_text(tokenizer, pieces, FIRST_WORDS[rep % len(FIRST_WORDS)])
             for pieces in args.tokens for rep in range(args.reps)}
    sizes = {key: len(encode(tokenizer, text)) for key, text in texts.items()}
    page_s = {(name, pieces): [] for name in PAGES for pieces in args.tokens}
    hf_s = {pieces: [] for pieces in args.tokens}
    with streamlit_server(args.port) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name, (heading, marker) in PAGES.items():
            page.goto(f"{url}/{name}", wait_until="domcontentloaded")
            page.get_by_role("heading", name=heading).wait_for(timeout=120_000)
            warm_up = ewt_text(tokenizer, 24, "First")  # loads plotly.js in the page
            submit_and_render(page, warm_up, marker.format(n=len(encode(tokenizer, warm_up)), h=hidden))
            for rep in range(args.reps):
                for pieces in args.tokens:  # sizes alternate: the previous page never shows this marker
                    text, n = texts[pieces, rep], sizes[pieces, rep]
                    page_s[name, pieces].append(submit_and_render(page, text, marker.format(n=n, h=hidden)))
                    hf_s[pieces].append(hf_forward(hf_model, tokenizer, text))
        browser.close()

    points = []
    for pieces in args.tokens:
        hf_median = statistics.median(hf_s[pieces])
        point = {"tokens": sizes[pieces, 0], "hf_forward_s": round(hf_median, 4)}
        for name in PAGES:
            median = statistics.median(page_s[name, pieces])
            point[f"{name}_submit_to_rendered_s"] = round(median, 3)
            point[f"{name}_page_over_hf_forward"] = round(median / hf_median, 1)
        points.append(point)
    print(json.dumps({"bench": "app_latency", "reps": args.reps, "device": "cpu", "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "machine": platform.machine(), "points": points}))


if __name__ == "__main__":
    main()
