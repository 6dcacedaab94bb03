"""Text and figures for plotly. Plotly draws a subset of HTML in titles, tick labels, legend names, hovers and point
text (<b>, <br>, <a href>…), so a visitor's sentence could add a link or markup to a chart. Every
component passes the text it is given through `plain`, which makes plotly show it as typed."""
from __future__ import annotations

from collections.abc import Iterable

import plotly.graph_objects as go


def plain(text: str) -> str:
    """text shown as typed: plotly decodes &lt; &gt; &amp; back in text nodes (and never &quot;, so
    quotes stay as they are)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain_all(texts: Iterable[str]) -> list[str]:
    return [plain(text) for text in texts]


def unchecked_figure(spec: dict) -> go.Figure:
    """A figure from a plotly JSON spec, without plotly's validation of every property (17 ms for the
    head grid, 1 ms without: the Head overview draws seven). The spec must already be in plotly's own
    form (titles as {"text": …}): tests/test_plotly_text.py checks each component against the validator."""
    return go.Figure(spec, _validate=False)
