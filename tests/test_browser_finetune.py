"""The Fine-tune a classifier page in headless Chromium on the default model: train the top layer and
the head for one epoch on the shipped set, watch the progress, see the results (what changed inside:
the last layer's heads); a screenshot for the README."""
from __future__ import annotations

import pytest

from bench.browser import is_local, screenshot, streamlit_server

PORT = 8531


@pytest.mark.browser
def test_fine_tune_the_head_in_the_browser(chromium, screenshots):
    requests: list[str] = []
    with streamlit_server(PORT) as url:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"{url}/finetune?approach=Top+N+layers+%28the+rest+frozen%29&top=1&epochs=1&pool=mean+of+tokens",
                  wait_until="domcontentloaded")
        page.get_by_role("heading", name="Fine-tune a classifier").wait_for(timeout=180_000)
        page.get_by_role("button", name="Train").click()
        page.get_by_role("button", name="Stop").wait_for(timeout=60_000)   # the live view while it trains
        page.get_by_text("step", exact=False).first.wait_for(timeout=60_000)
        page.get_by_role("heading", name="3. Runs").wait_for(timeout=400_000)
        page.get_by_role("heading", name="4. What changed inside").wait_for(timeout=120_000)
        page.get_by_text("Sentence vectors of the test texts").wait_for(timeout=120_000)
        assert screenshot(page, screenshots, "finetune") >= 6
    assert all(is_local(r) for r in requests), [r for r in requests if not is_local(r)][:5]
