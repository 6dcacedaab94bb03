"""PNG downloads, drawn in the browser: the dependency arcs (Syntax in one sentence), bertviz's head view
and model view (Attention views). Each button is clicked in Chromium as a person would; the file must
be a PNG of the picture's size (twice its CSS pixels) with more than a blank page in it."""
from __future__ import annotations

import struct
import zlib
from urllib.parse import urlencode

import pytest

from bench.browser import is_local, streamlit_server

PORT = 8517
SENTENCE = "The old man who lives next door fixed the broken chair that his daughter had left in the garage."


def png_facts(data: bytes) -> tuple[int, int, int]:
    """(width, height, distinct byte values in the decompressed pixel rows) of a PNG; fails on anything else."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    chunks, at = {}, 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks.setdefault(kind, []).append(data[at + 8:at + 8 + length])
        at += 12 + length
    width, height = struct.unpack(">II", chunks[b"IHDR"][0][:8])
    pixels = zlib.decompress(b"".join(chunks[b"IDAT"]))
    assert b"IEND" in chunks
    return width, height, len(set(pixels))


def download(page, label: str, path) -> tuple[str, bytes]:
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name=label, exact=True).click()
    info.value.save_as(path)
    return info.value.suggested_filename, path.read_bytes()


def svg_size(page, frame_selector: str) -> tuple[float, float]:
    """The CSS size of the first SVG in the view's iframe (what the PNG draws, at 2 pixels per CSS pixel)."""
    return tuple(page.evaluate(
        """selector => {
            const svg = document.querySelector(selector).contentDocument.querySelector('svg');
            const box = svg.getBBox(), rect = svg.getBoundingClientRect();
            return [Math.max(rect.width, box.x + box.width), Math.max(rect.height, box.y + box.height)];
        }""", frame_selector))


@pytest.mark.browser
def test_png_downloads_of_the_arcs_and_the_attention_views(chromium, tmp_path):
    requests: list[str] = []
    with streamlit_server(PORT) as url:
        page = chromium.new_page(viewport={"width": 1400, "height": 1200}, accept_downloads=True)
        page.on("request", lambda request: requests.append(request.url))
        saved = {}

        page.goto(f"{url}/syntax_sentence?{urlencode({'a': SENTENCE, 'b': ''})}", wait_until="domcontentloaded")
        page.frame_locator("iframe[title='ss_arcs: dependency arcs']").locator("svg text", has_text="garage").wait_for(
            timeout=180_000)
        size = svg_size(page, "iframe[title='ss_arcs: dependency arcs']")
        name, data = download(page, "Arcs (PNG)", tmp_path / "arcs.png")
        assert name.startswith("arcs_layer") and name.endswith(".png")
        saved["arcs"] = (size, png_facts(data))

        page.goto(f"{url}/attention?{urlencode({'a': 'The cat sat on the mat because it was tired.', 'b': ''})}",
                  wait_until="domcontentloaded")
        page.frame_locator("iframe[title^='Head view']").first.locator("#vis svg text").first.wait_for(timeout=180_000)
        page.wait_for_timeout(1000)   # bertviz draws the lines after the text
        size = svg_size(page, "iframe[title^='Head view']")
        name, data = download(page, "Head view (PNG)", tmp_path / "head_view.png")
        assert name == "head_view.png"
        saved["head view"] = (size, png_facts(data))

        page.get_by_test_id("stMain").get_by_text("Model view", exact=True).first.click()
        page.frame_locator("iframe[title='Model view']").locator("#vis svg text").first.wait_for(timeout=120_000)
        page.wait_for_timeout(1000)
        size = svg_size(page, "iframe[title='Model view']")
        name, data = download(page, "Model view (PNG)", tmp_path / "model_view.png")
        assert name == "model_view.png"
        saved["model view"] = (size, png_facts(data))

    for view, ((css_width, css_height), (width, height, values)) in saved.items():
        assert (width, height) == (pytest.approx(2 * css_width, abs=2), pytest.approx(2 * css_height, abs=2)), view
        assert width > 400 and height > 200, view
        assert values > 50, f"{view}: the PNG looks blank"
    assert requests and all(is_local(r) for r in requests), [r for r in requests if not is_local(r)]
