"""The Contributions page, and what it adds to Head overview and Attention views, in real headless
Chromium with no network: the [CLS]-heavy head of the default model shown with its small contribution."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from bench.browser import is_local, screenshot, streamlit_server, wait_until_idle

PORT = 8515
SENTENCE = "The cat sat on the mat because it was tired."


@pytest.mark.browser
def test_a_special_token_heavy_head_shows_its_small_contribution(chromium, screenshots):
    requests: list[str] = []
    text = quote(SENTENCE)
    with streamlit_server(PORT) as url:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda request: requests.append(request.url))
        # all-MiniLM-L6-v2 puts its heaviest special-token attention on [CLS] (layer 3, head 8, 90 %).
        page.goto(f"{url}/head_overview?a={text}&b=&pick_layer=3&pick_head=8", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Attention is not contribution").wait_for(timeout=120_000)
        page.get_by_text("layer 3 head 8 puts").wait_for(timeout=60_000)
        wait_until_idle(page)
        assert screenshot(page, screenshots, "head_overview_contribution") >= 11

        page.goto(f"{url}/attention?a={text}&b=&layer=3&head=8&measure=Norm-weighted", wait_until="domcontentloaded")
        page.get_by_text("each row divided by its sum").wait_for(timeout=120_000)
        wait_until_idle(page)
        screenshot(page, screenshots, "attention_norm_weighted")

        page.goto(f"{url}/contributions?a={text}&b=&mix_layer=3", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Head importance").wait_for(timeout=120_000)
        page.get_by_text("Most important:").wait_for(timeout=180_000)
        wait_until_idle(page)
        assert screenshot(page, screenshots, "contributions") >= 5
        page.close()
    assert [u for u in requests if not is_local(u)] == []
