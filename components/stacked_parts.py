"""Per-token stacked bars: how the parts of each token's input embedding add up (E = T + S + P)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from .figure_download import figure_download
from .plotly_text import plain, unchecked_figure

TOTAL_MARKER = {"color": "black", "line": {"width": 3}, "size": 18, "symbol": "line-ew-open"}


def stacked_parts(*, tokens: list[str], parts: dict[str, np.ndarray], totals: dict[str, np.ndarray],
                  title: str, y_title: str, key: str) -> None:
    """parts: name -> (T,) stacked as bars; totals: name -> (T,) drawn as markers over the bars."""
    x = [plain(f"{i}: {token}") for i, token in enumerate(tokens)]
    def trace(name: str, values: np.ndarray) -> dict:
        return {"x": x, "y": values, "name": plain(name),
                "hovertemplate": f"%{{x}}<br>{plain(name)}: %{{y:.3f}}<extra></extra>"}

    bars = [{"type": "bar", **trace(name, values)} for name, values in parts.items()]
    marks = [{"type": "scatter", **trace(name, values), "mode": "markers", "marker": TOTAL_MARKER}
             for name, values in totals.items()]
    figure = unchecked_figure({
        "data": bars + marks,
        "layout": {"barmode": "relative", "title": {"text": plain(title)}, "yaxis": {"title": {"text": plain(y_title)}},
                   "height": 460, "xaxis": {"type": "category", "tickangle": -60},
                   "margin": {"t": 50, "l": 10, "r": 10, "b": 10},
                   "legend": {"orientation": "h", "y": -0.25, "yanchor": "top", "x": 0, "xanchor": "left"}},
    })
    st.plotly_chart(figure, key=f"{key}_chart")
    figure_download(figure=figure, file_name=f"{key}.html", key=key)
