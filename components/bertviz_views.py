"""bertviz's head view and model view, offline and compact.

bertviz's own JavaScript (head_view.js, model_view.js of the installed package) draws the views;
d3 and jQuery come from static/ (see components/html.py) instead of a CDN. bertviz
embeds all L·nh·T² weights as JSON (hundreds of MB at 512 tokens); here the document carries
only what the view shows, packed (see pack_attention):
- the head view gets ONE layer; the model view all layers;
- per row, only the weights of at least MIN_WEIGHT (a line is drawn with opacity = weight, so
  fainter ones are invisible), quantised to 1/255 and stored as uint8, their columns as uint16,
  base64-encoded; static/bertviz_shim.js expands them into the arrays bertviz expects;
- lines are drawn only where they are visible: the head view draws a line at opacity
  weight / heads shown, and keeps those of at least MIN_OPACITY (redrawn when heads are
  toggled), grouped only under the rows that have one; the model view's thumbnails keep weights of
  at least THUMBNAIL_MIN_WEIGHT;
- the head view's per-head colour boxes behind the tokens (2·T·heads rects, invisible until a token
  is hovered) are made on the first hover instead of up front.
This keeps the number of SVG elements, and the drawing time, small: at 512 tokens ~6,000 elements
instead of ~23,000, drawn in about half the time.
Exact values are in the heatmap (components/attention_heatmap.py) and the CSV/JSON downloads.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from .html import embed, inline_script, standalone_document

MIN_WEIGHT = 0.01
MIN_OPACITY = 0.01
THUMBNAIL_MIN_WEIGHT = 0.1
_FONT = "font-family:'Helvetica Neue', Helvetica, Arial, sans-serif"
_LIBRARIES = ("d3.min.js", "jquery.min.js", "bertviz_shim.js")

# What changes in bertviz 1.4.1's scripts, as (old, new, how many times): no require.js paths
# to a CDN (bertviz_shim.js hands the inlined libraries over); lines come from
# linksOf(row, min) ({j: column, w: weight}) instead of every column (the head view draws a
# line at opacity weight / heads shown, so it keeps those of at least MIN_OPACITY); the head
# view's hover boxes are made on the first hover; transpose works on Float32Array rows, fast.
# A bertviz release that changes these lines fails loudly (see _patched).
_NO_CDN = ("""require.config({
  paths: {
      d3: 'https://cdnjs.cloudflare.com/ajax/libs/d3/5.7.0/d3.min',
    jquery: 'https://cdnjs.cloudflare.com/ajax/libs/jquery/2.0.0/jquery.min',
  }
});""", "// d3 and jQuery come with this document (static/ of BERT Explorer), not from a CDN.", 1)
_HEAD_VIEW_PATCHES = (
    _NO_CDN,
    # A line group only for the left tokens that draw a line, not for every one (T·heads groups,
    # mostly empty at 512 tokens); hidden heads draw no lines.
    ('.selectAll(".tokenAttention")\n            .data(d => d)',
     '.selectAll(".tokenAttention")\n            .data(function (d) { '
     'return config.headVis[+this.getAttribute("head-index")] '
     f'? rowsWithLinks(d, {MIN_OPACITY} * activeHeads()) : []; }})', 1),
    ('.attr("left-token-index", (d, i) => i)\n            .selectAll("line")\n            .data(d => d)',
     '.attr("left-token-index", d => d.i)\n            .selectAll("line")\n            .data(d => d.links)', 1),
    # The per-head colour boxes behind the tokens (2·T·heads invisible rects, half the drawing time at
    # 512 tokens) are made on the first hover, the only thing that shows them, under the tokens.
    ('        // Add attention highlights superimposed over words\n        textContainer.append("g")',
     '        // Add attention highlights superimposed over words: on the first hover (see drawBoxes)\n'
     '        config.boxMakers.push(() => textContainer.insert("g", ":first-child")', 1),
    ('.style("opacity", 0.0);\n\n        const tokenContainer',
     '.style("opacity", 0.0));\n\n        const tokenContainer', 1),
    ('tokenContainer.on("mouseover", function (d, index) {\n',
     'tokenContainer.on("mouseover", function (d, index) {\n            drawBoxes();\n', 1),
    ("        // Clear vis\n", "        // Clear vis\n        config.boxMakers = [];\n", 1),
    ("    function activeHeads() {",
     "    function drawBoxes() {\n        while (config.boxMakers.length) config.boxMakers.shift()();\n    }\n\n"
     "    function activeHeads() {", 1),
    # Showing or hiding a head changes which lines are visible: redraw them, not just their opacity.
    ("updateCheckboxes();\n            updateAttention(svg);",
     "updateCheckboxes();\n"
     "            renderAttention(svg, config.attention[config.filter].attn[config.layer_seq]);", 2),
    ("(d, rightTokenIndex) => TEXT_TOP + rightTokenIndex * BOXHEIGHT", "d => TEXT_TOP + d.j * BOXHEIGHT", 1),
    ('.attr("right-token-index", (d, i) => i)', '.attr("right-token-index", d => d.j)', 1),
    ("return d / activeHeads()", "return d.w / activeHeads()", 1),
    ("""    function transpose(mat) {
        return mat[0].map(function (col, i) {
            return mat.map(function (row) {
                return row[i];
            });
        });
    }""", """    function transpose(mat) {  // rows may be Float32Arrays; one flat array is much faster at 512 tokens
        const nRows = mat.length, nCols = mat[0].length, flat = new Float32Array(nRows * nCols);
        for (let r = 0; r < nRows; r++) for (let c = 0; c < nCols; c++) flat[c * nRows + r] = mat[r][c];
        return Array.from({length: nCols}, (_, c) => flat.subarray(c * nRows, (c + 1) * nRows));
    }""", 1),
)
_LINES_OF_ROW = ".data(function (d) { // Loop over all target tokens\n                    return d;\n                })"
_MODEL_VIEW_PATCHES = (
    _NO_CDN,
    (_LINES_OF_ROW, f".data(d => linksOf(d, {THUMBNAIL_MIN_WEIGHT}))", 1),  # first: the thumbnails
    (_LINES_OF_ROW, f".data(d => linksOf(d, {MIN_WEIGHT}))", 1),            # then: the detail on click
    ("(targetIndex + .5)", "(d.j + .5)", 2),
    ('.attr("stroke-opacity", function (d) {\n                    return d;',
     '.attr("stroke-opacity", function (d) {\n                    return d.w;', 2),
)


def _bertviz_folder() -> Path:
    """Where bertviz is installed, found without importing it: its __init__ imports transformers (seconds)."""
    spec = find_spec("bertviz")
    if spec is None or spec.origin is None:
        raise RuntimeError("bertviz is not installed (pip install -r requirements.txt): its views cannot be drawn")
    return Path(spec.origin).parent


@cache
def _patched(script: str) -> str:
    source = (_bertviz_folder() / script).read_text(encoding="utf-8")
    patches = _HEAD_VIEW_PATCHES if script == "head_view.js" else _MODEL_VIEW_PATCHES
    for old, new, times in patches:
        if source.count(old) < times:
            raise RuntimeError(f"bertviz's {script} is not the one this app adapts (1.4.1): {old[:60]!r} not found")
        source = source.replace(old, new, times)
    # Apache License 2.0, section 4(b): a modified file says that it was changed.
    notice = (f"// bertviz 1.4.1 {script}, Copyright 2018 Jesse Vig, Apache License 2.0.\n"
              "// Modified by BERT Explorer (components/bertviz_views.py lists every change).\n")
    return notice + source


def pack_attention(weights: np.ndarray, min_weight: float = MIN_WEIGHT) -> dict:
    """(L, nh, R, C) weights → {shape, counts, cols, values}: for each row in order, how many
    weights it keeps (uint16), their columns (uint16) and values round(w·255) (uint8), base64."""
    rows = weights.reshape(-1, weights.shape[-1])
    quantised = np.rint(np.clip(rows, 0.0, 1.0) * 255).astype(np.uint8)
    keep = (rows >= min_weight) & (quantised > 0)
    row_of, cols = np.nonzero(keep)  # row-major, so entries come row by row as counts says
    def b64(array: np.ndarray) -> str:
        return base64.b64encode(array.tobytes()).decode("ascii")
    return {"shape": list(weights.shape), "counts": b64(keep.sum(1).astype("<u2")),
            "cols": b64(cols.astype("<u2")), "values": b64(quantised[row_of, cols])}


def _document(script: str, params: dict, *, key: str, caption: str, title: str, inline_scripts: bool) -> str:
    body = (f'<div id="{key}" style="{_FONT}; padding:4px">'
            f'<div style="user-select:none; font-size:13px; color:#444">{caption}</div>'
            "<div id='vis'></div></div>\n"
            + inline_script(_patched(script).replace("PYTHON_PARAMS", f"expandParams({json.dumps(params)})")))
    return standalone_document(title=title, body=body, scripts=_LIBRARIES, inline_scripts=inline_scripts)


def head_view_html(*, weights: np.ndarray, from_labels: list[str], to_labels: list[str], layer: int,
                   key: str, inline_scripts: bool = True) -> str:
    """bertviz's head view of one layer: weights (nh, R, C), `layer` a 0-based index, shown numbered from 1
    (layers 1…L, as on every page); click a head's colour to toggle it. bertviz's own layer dropdown is
    not in this document, and its head view shows no head numbers. inline_scripts: see
    components.html.standalone_document."""
    params = {
        "attention": [{"name": None, "attn": pack_attention(weights[None]),
                       "left_text": from_labels, "right_text": to_labels}],
        "default_filter": "0", "root_div_id": key, "layer": layer, "heads": None, "include_layers": [layer],
    }
    caption = (f"Layer {layer + 1} · hover a token to see what it attends to · click a colour to show or hide "
               "a head, double-click to show only it")
    return _document("head_view.js", params, key=key, caption=caption, title=f"Head view, layer {layer + 1}",
                     inline_scripts=inline_scripts)


def model_view_html(*, weights: np.ndarray, from_labels: list[str], to_labels: list[str], key: str,
                    inline_scripts: bool = True) -> str:
    """bertviz's model view: weights (L, nh, R, C), one thumbnail per layer and head; click one to enlarge."""
    num_layers, num_heads = weights.shape[:2]
    # include_layers / include_heads are only labels in model_view.js (axes, "Layer 1, Head 3" over an
    # enlarged head, and a layer's colour): numbered from 1, as on every page.
    params = {
        "attention": [{"name": None, "attn": pack_attention(weights),
                       "left_text": from_labels, "right_text": to_labels}],
        "default_filter": "0", "display_mode": "light", "root_div_id": key,
        "include_layers": list(range(1, num_layers + 1)), "include_heads": list(range(1, num_heads + 1)),
        "total_heads": num_heads,
    }
    caption = (f"{num_layers} layers × {num_heads} heads · thumbnails draw weights ≥ {THUMBNAIL_MIN_WEIGHT} · "
               "click a thumbnail to enlarge it")
    return _document("model_view.js", params, key=key, caption=caption, title="Model view",
                     inline_scripts=inline_scripts)


def head_view_height(num_rows: int) -> int:
    """Pixels that show the whole head view (bertviz: 22.5 px a token), at most 900 (then it scrolls)."""
    return min(int(num_rows * 22.5) + 100, 900)


@dataclass(frozen=True)
class ShownView:
    """A view shown in the page: the bytes sent for it, its standalone HTML (every script
    inlined, works offline) built when the download is clicked, and the title of its iframe
    (components.html.png_download saves the view's picture from it)."""
    sent_bytes: int
    standalone: Callable[[], str]
    frame_title: str


def render_head_view(*, weights: np.ndarray, from_labels: list[str], to_labels: list[str], layer: int,
                     key: str) -> ShownView:
    """Show the head view in the page."""
    arguments = {"weights": weights, "from_labels": from_labels, "to_labels": to_labels, "layer": layer, "key": key}
    html = head_view_html(**arguments, inline_scripts=False)
    title = f"Head view, layer {layer + 1}"
    embed(html, height=head_view_height(max(len(from_labels), len(to_labels))), title=title)
    return ShownView(len(html), partial(head_view_html, **arguments), title)


def render_model_view(*, weights: np.ndarray, from_labels: list[str], to_labels: list[str], key: str) -> ShownView:
    """Show the model view in the page."""
    arguments = {"weights": weights, "from_labels": from_labels, "to_labels": to_labels, "key": key}
    html = model_view_html(**arguments, inline_scripts=False)
    embed(html, height=700, title="Model view")
    return ShownView(len(html), partial(model_view_html, **arguments), "Model view")
