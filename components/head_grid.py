"""One statistic for every head: a layers × heads heatmap; clicking a cell returns that head."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from .figure_download import figure_download


def head_grid(*, values: np.ndarray, title: str, key: str, selected: tuple[int, int] | None = None,
              colorscale: str = "Viridis", zmin: float | None = None, zmax: float | None = None) -> tuple[int, int] | None:
    """values: (L, nh). Returns the (layer, head) the user clicked on this run, else None."""
    layers, heads = values.shape
    figure = go.Figure(go.Heatmap(z=values, x=list(range(heads)), y=list(range(layers)), colorscale=colorscale,
                                  zmin=zmin, zmax=zmax, colorbar=dict(thickness=12), hoverinfo="skip"))
    # Plotly heatmaps cannot be selected; an invisible marker on every cell takes the click (and the hover).
    layer_of, head_of = np.divmod(np.arange(layers * heads), heads)
    figure.add_trace(go.Scatter(x=head_of, y=layer_of, mode="markers", showlegend=False,
                                marker=dict(size=22, symbol="square", opacity=0.01, color="white"),
                                customdata=values.reshape(-1),
                                hovertemplate="layer %{y}, head %{x}<br>%{customdata:.4f}<extra></extra>"))
    if selected is not None:
        layer, head = selected
        figure.add_shape(type="rect", x0=head - 0.5, x1=head + 0.5, y0=layer - 0.5, y1=layer + 0.5,
                         line=dict(color="red", width=3))
    figure.update_layout(title=dict(text=title, font=dict(size=14)), height=110 + 34 * layers,
                         xaxis=dict(title="head", dtick=1, tickangle=0, tickfont=dict(size=10), range=[-0.5, heads - 0.5]),
                         yaxis=dict(title="layer", dtick=1, range=[layers - 0.5, -0.5]),
                         margin=dict(t=40, l=10, r=10, b=10))
    event = st.plotly_chart(figure, key=f"{key}_chart", on_select="rerun", selection_mode="points")
    figure_download(figure=figure, file_name=f"{key}.html", key=key)
    points = event.selection.points if event else []
    if points:
        return int(points[0]["y"]), int(points[0]["x"])
    return None
