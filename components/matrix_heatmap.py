"""A labelled matrix (tokens × dimensions, tokens × tokens…) as a plotly heatmap, exact values on
hover, one row and/or a range of columns optionally outlined."""
from __future__ import annotations

import numpy as np
import streamlit as st
from plotly.colors import get_colorscale

from .figure_download import figure_download
from .plotly_text import plain, plain_all, unchecked_figure

OUTLINE = {"color": "black", "width": 2}


def matrix_heatmap(*, values: np.ndarray, rows: list[str], columns: list[str], title: str, key: str,
                   colorscale: str = "RdBu_r", zmid: float | None = 0.0, highlight_row: int | None = None,
                   highlight_columns: tuple[int, int] | None = None, height: int | None = None) -> None:
    """highlight_columns: an inclusive range of column indices."""
    # Plotly's categorical axes merge equal labels: number the rows so repeated tokens stay apart.
    y = [plain(f"{i}: {label}") for i, label in enumerate(rows)]
    shapes = []
    if highlight_row is not None:  # across the whole width, as plotly's add_hrect draws it
        shapes.append({"line": OUTLINE, "type": "rect", "x0": 0, "x1": 1, "xref": "x domain",
                       "y0": highlight_row - 0.5, "y1": highlight_row + 0.5, "yref": "y"})
    if highlight_columns is not None:
        shapes.append({"line": OUTLINE, "type": "rect", "x0": highlight_columns[0] - 0.5,
                       "x1": highlight_columns[1] + 0.5, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain"})
    figure = unchecked_figure({
        "data": [{"type": "heatmap", "z": values, "x": plain_all(columns), "y": y,
                  "colorscale": get_colorscale(colorscale), **({"zmid": zmid} if zmid is not None else {}),
                  "hovertemplate": "%{y} · %{x}<br>%{z:.4f}<extra></extra>"}],
        "layout": {"title": {"text": plain(title)}, "height": height or min(140 + 22 * len(rows), 760),
                   "yaxis": {"autorange": "reversed", "type": "category"}, "xaxis": {"type": "category"},
                   "margin": {"t": 50, "l": 10, "r": 10, "b": 10}, **({"shapes": shapes} if shapes else {})},
    })
    st.plotly_chart(figure, key=f"{key}_chart")
    figure_download(figure=figure, file_name=f"{key}.html", key=key)
