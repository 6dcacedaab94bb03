"""Accuracy of every attention head as a layers × heads heatmap, numbered from 1, the best head
outlined and the baseline named in the title."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from .figure_download import figure_download


def head_accuracy_grid(*, accuracy: np.ndarray, best: tuple[int, int], title: str, key: str) -> None:
    """accuracy: (L, nh) in [0, 1]; best: (layer, head), 1-based."""
    layers, heads = accuracy.shape
    figure = go.Figure(go.Heatmap(
        z=accuracy, x=list(range(1, heads + 1)), y=list(range(1, layers + 1)), zmin=0, zmax=1,
        colorscale="Viridis", colorbar=dict(thickness=12, tickformat=".0%"),
        hovertemplate="layer %{y}, head %{x}<br>accuracy %{z:.1%}<extra></extra>"))
    layer, head = best
    figure.add_shape(type="rect", x0=head - 0.5, x1=head + 0.5, y0=layer - 0.5, y1=layer + 0.5,
                     line=dict(color="red", width=3))
    figure.update_layout(title=dict(text=title, font=dict(size=14)), height=130 + 34 * layers,
                         xaxis=dict(title="head", dtick=1), yaxis=dict(title="layer", dtick=1, autorange="reversed"),
                         margin=dict(t=50, l=10, r=10, b=10))
    st.plotly_chart(figure, key=f"{key}_chart")
    figure_download(figure=figure, file_name=f"{key}.html", key=key)
