"""The Tokens and embeddings, Inside one head and Head overview pages in real headless Chromium,
with no network: submit a sentence, move between pages, click a head; screenshots for the README."""
from __future__ import annotations

import pytest

from bench.browser import is_local, screenshot, streamlit_server, submit_sentence, wait_until_idle

PORT = 8512
SENTENCE = "The cat sat on the mat because it was tired."


@pytest.mark.browser
def test_pages_draw_the_sentence_keep_it_across_pages_and_open_a_clicked_head(chromium, screenshots):
    requests: list[str] = []
    with streamlit_server(PORT) as url:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"{url}/tokens", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Tokens and embeddings").wait_for(timeout=120_000)
        submit_sentence(page, SENTENCE)
        # [CLS] the cat sat on the mat because it was tired . [SEP]
        page.get_by_text("13 pieces").wait_for(timeout=60_000)
        wait_until_idle(page)
        assert screenshot(page, screenshots, "tokens") >= 2

        page.get_by_test_id("stSidebarNav").get_by_text("Inside one head").click()
        page.get_by_role("heading", name="Inside one head").wait_for(timeout=60_000)
        page.get_by_text("match the model's own").wait_for(timeout=60_000)
        assert "cat" in page.url  # the sentence followed us to the next page, and into its URL
        wait_until_idle(page)
        assert screenshot(page, screenshots, "inside_head") >= 7

        page.get_by_test_id("stSidebarNav").get_by_text("Head overview").click()
        page.get_by_role("heading", name="Head overview").wait_for(timeout=60_000)
        wait_until_idle(page)
        # The grids number layers and heads from 1, as every page does.
        first_grid = page.get_by_test_id("stPlotlyChart").first
        def ticks(axis: str) -> list[int]:
            texts = first_grid.locator(f".{axis}tick text").evaluate_all("texts => texts.map(t => t.textContent)")
            return sorted(int(text) for text in texts)
        assert ticks("y") == list(range(1, 7)) and ticks("x") == list(range(1, 13))
        # Click the entropy grid's cell for layer 2, head 5 (6 layers × 12 heads, layer 1 on top).
        box = first_grid.locator(".nsewdrag").first.bounding_box()
        page.mouse.click(box["x"] + box["width"] * 4.5 / 12, box["y"] + box["height"] * 1.5 / 6)
        page.get_by_text("Open layer 2, head 5 step by step").wait_for(timeout=60_000)
        wait_until_idle(page)
        screenshot(page, screenshots, "head_overview")

        page.get_by_text("Open layer 2, head 5 step by step").click()
        page.get_by_role("heading", name="Inside one head").wait_for(timeout=60_000)
        page.get_by_text("X is the input of layer 2: the output of layer 1").wait_for(timeout=60_000)
        # Layer 2 is this page's default, which a bound widget leaves out of the URL.
        assert "head=5" in page.url and "layer=" not in page.url
        assert page.get_by_role("combobox", name="Layer").input_value() == "2"
        page.close()
    assert [u for u in requests if not is_local(u)] == []
