"""A labelled matrix (tokens × dimensions, tokens × tokens…) as a plotly heatmap, exact values on
hover, one row and/or a range of columns optionally outlined."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from .figure_download import figure_download
from .plotly_text import plain, plain_all


def matrix_heatmap(*, values: np.ndarray, rows: list[str], columns: list[str], title: str, key: str,
                   colorscale: str = "RdBu_r", zmid: float | None = 0.0, highlight_row: int | None = None,
                   highlight_columns: tuple[int, int] | None = None, height: int | None = None) -> None:
    """highlight_columns: an inclusive range of column indices."""
    # Plotly's categorical axes merge equal labels: number the rows so repeated tokens stay apart.
    y = [plain(f"{i}: {label}") for i, label in enumerate(rows)]
    figure = go.Figure(go.Heatmap(z=values, x=plain_all(columns), y=y, colorscale=colorscale, zmid=zmid,
                                  hovertemplate="%{y} · %{x}<br>%{z:.4f}<extra></extra>"))
    if highlight_row is not None:
        figure.add_hrect(y0=highlight_row - 0.5, y1=highlight_row + 0.5, line=dict(color="black", width=2))
    if highlight_columns is not None:
        figure.add_vrect(x0=highlight_columns[0] - 0.5, x1=highlight_columns[1] + 0.5,
                         line=dict(color="black", width=2))
    figure.update_layout(title=plain(title), height=height or min(140 + 22 * len(rows), 760),
                         yaxis=dict(autorange="reversed", type="category"), xaxis=dict(type="category"),
                         margin=dict(t=50, l=10, r=10, b=10))
    st.plotly_chart(figure, key=f"{key}_chart")
    figure_download(figure=figure, file_name=f"{key}.html", key=key)
