"""Scores per row and layer (0 = embedding output … L) as a heatmap: the value written in each cell
and given on hover; a cell without a value stays blank."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from .figure_download import figure_download
from .plotly_text import plain, plain_all

MAX_WRITTEN_ROWS = 40  # beyond this the cells are too thin to hold text; the hover still has it


def layer_heatmap_figure(*, values: dict[str, list[float | None]], title: str, value_name: str,
                         zrange: tuple[float, float] = (0.0, 1.0)) -> go.Figure:
    """values: one row per name, one value per layer (None: not defined there)."""
    rows = plain_all(values)
    z = np.array([[np.nan if v is None else v for v in row] for row in values.values()], dtype=float)
    layers = [str(layer) for layer in range(z.shape[1])]
    # Viridis: sequential, readable in grey and with the common colour-vision deficiencies.
    figure = go.Figure(go.Heatmap(z=z, x=layers, y=rows, zmin=zrange[0], zmax=zrange[1], colorscale="Viridis",
                                  text=np.round(z, 2), xgap=1, ygap=1,
                                  texttemplate="%{text:.2f}" if len(rows) <= MAX_WRITTEN_ROWS else None,
                                  colorbar=dict(title=dict(text=plain(value_name)), thickness=12),
                                  hovertemplate=f"%{{y}}, layer %{{x}}<br>{value_name} %{{z:.3f}}<extra></extra>"))
    figure.update_layout(title=plain(title), height=min(140 + 28 * len(rows), 760),
                         xaxis=dict(title="layer (0 = embedding output)", type="category"),
                         yaxis=dict(autorange="reversed", type="category"), margin=dict(t=50, l=10, r=10, b=10))
    return figure


def layer_heatmap(*, values: dict[str, list[float | None]], title: str, key: str, value_name: str,
                  zrange: tuple[float, float] = (0.0, 1.0)) -> None:
    figure = layer_heatmap_figure(values=values, title=title, value_name=value_name, zrange=zrange)
    st.plotly_chart(figure, key=f"{key}_chart")
    figure_download(figure=figure, file_name=f"{key}.html", key=key)
