"""The Attention views page in real headless Chromium, with no network: type a sentence, press Run,
find bertviz's head view drawn with the sentence's tokens."""
from __future__ import annotations

import pytest

from bert_core import encode
from tests.browser import is_local, streamlit_server, submit_sentence, wait_for_head_view

PORT = 8511
SENTENCE = "Sinan ate the cereal and then he had a stomach ache"


@pytest.mark.browser
def test_head_view_draws_the_sentence_offline(chromium, default_model, screenshots):
    _, tokenizer = default_model
    tokens = encode(tokenizer, SENTENCE).tokens
    requests: list[str] = []
    errors: list[str] = []
    with streamlit_server(PORT) as url:
        page = chromium.new_page(viewport={"width": 1500, "height": 1100})
        page.on("request", lambda request: requests.append(request.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{url}/attention", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Attention views").wait_for(timeout=120_000)
        submit_sentence(page, SENTENCE)
        wait_for_head_view(page, tokens, timeout_ms=120_000)
        page.get_by_test_id("stPlotlyChart").wait_for()
        page.wait_for_timeout(500)  # let plotly finish its first paint before the picture
        page.screenshot(path=str(screenshots / "attention.png"), full_page=True)
        # Double-clicking a head's colour shows that head alone: its lines are redrawn, in its colour.
        view = page.frame_locator('iframe[title^="Head view"]')
        view.get_by_text("Layer 1 · hover").wait_for()  # the first layer is layer 1, as on every page
        view.locator('#vis svg rect[width="20"]').nth(3).dblclick()
        view.locator("#attention line").first.wait_for(state="attached")
        strokes = view.locator("#attention line").evaluate_all("lines => lines.map(l => l.getAttribute('stroke'))")
        page.close()
    assert len(set(strokes)) == 1 and len(strokes) > 0
    assert errors == []
    assert requests, "the page made no requests at all?"
    assert [u for u in requests if not is_local(u)] == []
