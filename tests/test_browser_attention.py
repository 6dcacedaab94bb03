"""The Attention views page in real headless Chromium, with no network: type a sentence, press Run,
find bertviz's head view drawn with the sentence's tokens."""
from __future__ import annotations

import pytest

from bench.browser import is_local, streamlit_server, submit_sentence, wait_for_head_view
from bert_core import encode

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
        # Hovering a token shows only its lines, and colour boxes over the tokens it attends to (made
        # on this first hover) in the shown head's colour alone.
        assert view.locator(".attentionBoxes").count() == 0
        view.locator("#left text").nth(2).hover()
        visible = view.locator("#attention line[visibility='visible']").evaluate_all(
            "lines => lines.map(l => l.getAttribute('left-token-index'))")
        boxes = view.locator("#right .attentionBoxes rect").evaluate_all(
            "rects => rects.map(r => [+r.parentNode.getAttribute('head-index'), +r.style.opacity])")
        page.screenshot(path=str(screenshots / "attention_hover.png"), full_page=True)
        page.close()
    assert visible and set(visible) == {"2"}
    assert len(boxes) == 12 * len(tokens)                       # every head's box behind every right token
    assert {head for head, opacity in boxes if opacity > 0} == {3}
    assert 0.9 < sum(opacity for _, opacity in boxes) < 1.01    # one row of head 4 (weights < 0.01 are not sent)
    assert len(set(strokes)) == 1 and len(strokes) > 0
    assert errors == []
    assert requests, "the page made no requests at all?"
    assert [u for u in requests if not is_local(u)] == []
