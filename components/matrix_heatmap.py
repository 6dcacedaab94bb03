"""A labelled matrix (tokens × dimensions, tokens × tokens, layers × heads…) as a plotly heatmap,
exact values on hover, one row optionally outlined."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from .figure_download import figure_download


def matrix_figure(*, values: np.ndarray, rows: list[str], columns: list[str], title: str,
                  colorscale: str = "RdBu_r", zmid: float | None = 0.0, highlight_row: int | None = None,
                  height: int | None = None, show_values: bool = False) -> go.Figure:
    """The figure alone, for pages that add to it (a selection marker, a second trace)."""
    # Row/column labels must be unique for plotly's categorical axes: number repeated tokens.
    y = [f"{i}: {label}" for i, label in enumerate(rows)]
    heatmap = go.Heatmap(z=values, x=columns, y=y, colorscale=colorscale, zmid=zmid,
                         hovertemplate="%{y} · %{x}<br>%{z:.4f}<extra></extra>",
                         text=np.round(values, 2) if show_values else None,
                         texttemplate="%{text}" if show_values else None)
    figure = go.Figure(heatmap)
    if highlight_row is not None:
        figure.add_hrect(y0=highlight_row - 0.5, y1=highlight_row + 0.5, line=dict(color="black", width=2))
    figure.update_layout(title=title, height=height or min(140 + 22 * len(rows), 760),
                         yaxis=dict(autorange="reversed", type="category"), xaxis=dict(type="category"),
                         margin=dict(t=50, l=10, r=10, b=10))
    return figure


def matrix_heatmap(*, values: np.ndarray, rows: list[str], columns: list[str], title: str, key: str,
                   colorscale: str = "RdBu_r", zmid: float | None = 0.0, highlight_row: int | None = None,
                   height: int | None = None, show_values: bool = False) -> None:
    figure = matrix_figure(values=values, rows=rows, columns=columns, title=title, colorscale=colorscale,
                           zmid=zmid, highlight_row=highlight_row, height=height, show_values=show_values)
    st.plotly_chart(figure, key=f"{key}_chart")
    figure_download(figure=figure, file_name=f"{key}.html", key=key)
