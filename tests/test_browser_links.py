"""Shared links in real headless Chromium, with no network: each Embeddings page opened from a link in a
fresh browser context (a new browser: no session, no cache) shows the linked view, and a change made
on the page goes into the address bar. Screenshots for the README."""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from app import polysemy
from bench.browser import is_local, screenshot, streamlit_server, wait_until_idle

PORT = 8531
WORD_IN_CONTEXT = {"preset": "bank", "word": "bank", "sentences": "\n".join(polysemy.PRESETS["bank"]), "layer": "2"}
WORD_SENSES = {"word": "bank", "layer": "2", "words": "bank"}
SENTENCE_EMBEDDINGS = {"pooling": "max", "layer": "3"}


def slider(page, label: str):
    return page.get_by_test_id("stSlider").filter(has_text=label)


def slider_value(page, label: str) -> str:
    """The number the slider's thumb shows."""
    return slider(page, label).get_by_test_id("stSliderThumbValue").inner_text()


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def open_link(chromium, url: str, path: str, params: dict[str, str], heading: str, requests: list[str]):
    """A new browser context opening the link; returns the page once the linked view is drawn."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{url}/{path}?{urlencode(params)}", wait_until="domcontentloaded", timeout=240_000)
    page.get_by_role("heading", name=heading).wait_for(timeout=240_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=240_000)
    wait_until_idle(page, timeout_ms=300_000)
    assert page.locator("[data-testid='stException']").count() == 0
    return page


@pytest.mark.browser
def test_links_reopen_the_embeddings_pages_in_a_new_browser(chromium, screenshots):
    requests: list[str] = []
    with streamlit_server(PORT, timeout=240) as url:
        page = open_link(chromium, url, "word_in_context", WORD_IN_CONTEXT, "A word in context", requests)
        assert slider_value(page, "Layer") == "2"
        page.get_by_text("Cosine similarity of “bank” at layer 2").wait_for()
        sentences = page.get_by_label("Sentences that contain it, one per line")
        assert sentences.input_value() == WORD_IN_CONTEXT["sentences"]
        screenshot(page, screenshots, "word_in_context")
        # A change made on the page goes into the address bar: the text area, inside the form, on Compare.
        sentences.fill("The bank closed.\nA grassy bank.")
        page.get_by_role("button", name="Compare").click()
        wait_until_idle(page)
        page.wait_for_function("() => location.search.includes('grassy')", timeout=60_000)
        assert query(page)["sentences"] == ["The bank closed.\nA grassy bank."]
        page.context.close()

        page = open_link(chromium, url, "word_senses", WORD_SENSES, "Word senses across layers", requests)
        assert slider_value(page, "Layer") == "2"
        page.get_by_text("“bank” at layer 2, PCA").wait_for(timeout=240_000)
        page.get_by_text("Sense accuracy, word × layer").wait_for()
        screenshot(page, screenshots, "word_senses")
        slider(page, "Layer").locator("input[type=range]").press("ArrowRight")
        wait_until_idle(page)
        page.get_by_text("“bank” at layer 3, PCA").first.wait_for(timeout=240_000)
        page.wait_for_function("() => new URLSearchParams(location.search).get('layer') === '3'", timeout=60_000)
        assert query(page)["word"] == ["bank"] and query(page)["words"] == ["bank"]
        page.context.close()

        page = open_link(chromium, url, "sentence_embeddings", SENTENCE_EMBEDDINGS, "Sentence embeddings", requests)
        assert slider_value(page, "Layer") == "3"
        page.get_by_text("Cosine similarity, max over all tokens, layer 3").wait_for()
        page.get_by_text("(PCA of the layer-3 embeddings)").wait_for(timeout=240_000)
        screenshot(page, screenshots, "sentence_embeddings")
        page.context.close()

        # An Attention views link: layer and head numbered from 1, a toggle as true.
        page = open_link(chromium, url, "attention", {"layer": "3", "head": "4", "hide": "true"}, "Attention views",
                         requests)
        page.get_by_text("Layer 3, head 4").wait_for(timeout=60_000)
        assert page.get_by_role("combobox", name="Layer").input_value() == "3"
        assert page.get_by_role("switch", name="Hide [CLS]/[SEP]").is_checked()
        page.context.close()
    for name in ("word_in_context", "word_senses", "sentence_embeddings"):
        assert (screenshots / f"{name}.png").stat().st_size > 20_000
    assert [u for u in requests if not is_local(u)] == []
