"""Hostile links in real headless Chromium: Markdown or HTML in ?model= is shown as text (no image
fetched, no link drawn), and a classroom server offers its models in a select box."""
from __future__ import annotations

import pytest

from bench.browser import is_local, streamlit_server
from bert_core import DEFAULT_MODEL

PORT, CLASSROOM_PORT = 8541, 8542
IMAGE = "![x](http://example.invalid/pixel.png)"
LINK = "[click here to log in](https://login.example)"


def sidebar_alert(page):
    alert = page.get_by_test_id("stSidebar").get_by_test_id("stAlertContainer").first
    alert.wait_for(timeout=120_000)
    return alert


@pytest.mark.browser
@pytest.mark.parametrize("link, picture", [(IMAGE, "model_link_image.png"), (LINK, "model_link_login.png")])
def test_markdown_in_the_model_link_is_shown_as_text(chromium, screenshots, link, picture):
    requests: list[str] = []
    with streamlit_server(PORT) as url:
        page = chromium.new_page(viewport={"width": 1300, "height": 800})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"{url}/?model={link}", wait_until="domcontentloaded")
        alert = sidebar_alert(page)
        page.get_by_test_id("stSidebar").get_by_text("Running on").wait_for()
        text = alert.inner_text()
        links, images = alert.locator("a").count(), alert.locator("img").count()
        alert_code = alert.locator("code").count()
        alert.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshots / picture))
        page.close()
    assert text.startswith(f"Cannot load {link}: no checkpoint there") and f"Using {DEFAULT_MODEL} instead." in text
    assert links == 0 and images == 0 and alert_code == 1                # the link is one code span
    assert [r for r in requests if not is_local(r)] == []      # nothing fetched from example.invalid


@pytest.mark.browser
def test_a_classroom_server_offers_a_select_box_and_refuses_paths(chromium, screenshots, monkeypatch, tmp_path):
    listing = tmp_path / "models.toml"
    (tmp_path / "another").mkdir()  # listed folders must exist when the server starts
    listing.write_text('[models]\n"Another model" = "another"\n')
    monkeypatch.setenv("BERT_EXPLORER_MODE", "classroom")
    monkeypatch.setenv("BERT_EXPLORER_MODELS", str(listing))
    with streamlit_server(CLASSROOM_PORT) as url:
        page = chromium.new_page(viewport={"width": 1300, "height": 800})
        page.goto(f"{url}/?model=/etc", wait_until="domcontentloaded")
        text = sidebar_alert(page).inner_text()
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text("Running on").wait_for()
        box = sidebar.get_by_test_id("stSelectbox").first
        box.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshots / "classroom_refused.png"))
        box.click()
        options = page.get_by_role("option").all_inner_texts()
        page.screenshot(path=str(screenshots / "classroom_models.png"))
        page.close()
    assert text.startswith("Cannot load /etc: not a model this server offers.")
    assert options == [DEFAULT_MODEL, "Another model"]
