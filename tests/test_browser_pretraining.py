"""The Pre-training pages in real headless Chromium, with no network: the default model (no heads:
the message and the simulator) and a tiny random checkpoint with heads (charts, the lens, the link
to the masked sentence's head view). Its predictions are noise; the screenshots show the layout."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from bench.browser import is_local, screenshot, streamlit_server, wait_until_idle
from tests.pretraining_models import save_random_checkpoint

PORT = 8531
SENTENCE = "Istanbul is a great [MASK] to visit."


@pytest.mark.browser
def test_pretraining_pages_in_the_browser(chromium, screenshots, tmp_path):
    folder = save_random_checkpoint(tmp_path / "tiny")
    requests: list[str] = []
    with streamlit_server(PORT) as url:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda request: requests.append(request.url))

        page.goto(f"{url}/masked_words?{urlencode({'a': SENTENCE})}", wait_until="domcontentloaded")
        page.get_by_text("has no masked-LM head").wait_for(timeout=120_000)
        page.get_by_text("The masking simulator works with this model").wait_for(timeout=60_000)
        wait_until_idle(page)
        screenshot(page, screenshots, "masked_words_without_heads")

        page.goto(f"{url}/masked_words?{urlencode({'a': SENTENCE, 'model': str(folder)})}",
                  wait_until="domcontentloaded")
        page.get_by_text("Mask 1: piece 5").wait_for(timeout=120_000)
        page.get_by_text("Which sentence is more natural?").wait_for(timeout=60_000)
        wait_until_idle(page)
        assert screenshot(page, screenshots, "masked_words") >= 4   # bars, lens, two pinned-word charts

        page.get_by_role("button", name="See the masked sentence's attention").click()
        page.get_by_role("heading", name="Attention views").wait_for(timeout=60_000)
        assert "MASK" in page.url
        wait_until_idle(page)
        screenshot(page, screenshots, "attention_of_the_masked_sentence")

        page.goto(f"{url}/next_sentence?{urlencode({'a': 'The man went to the store.', 'b': 'He bought a gallon of milk.', 'model': str(folder)})}",  # noqa: E501
                  wait_until="domcontentloaded")
        page.get_by_text("P(IsNext) for the sidebar's A → B").wait_for(timeout=120_000)
        wait_until_idle(page)
        assert screenshot(page, screenshots, "next_sentence") >= 2

        page.goto(f"{url}/training_data", wait_until="domcontentloaded")  # the nav folds it under "View more"
        page.get_by_text("Sentence pairs for next-sentence prediction").wait_for(timeout=60_000)
        page.get_by_role("button", name="Re-roll").click()
        wait_until_idle(page)
        screenshot(page, screenshots, "training_data")
        page.close()
    assert [u for u in requests if not is_local(u)] == []
