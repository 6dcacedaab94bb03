"""Per-token stacked bars: how the parts of each token's input embedding add up (E = T + S + P)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from .figure_download import figure_download
from .plotly_text import plain


def stacked_parts(*, tokens: list[str], parts: dict[str, np.ndarray], totals: dict[str, np.ndarray],
                  title: str, y_title: str, key: str) -> None:
    """parts: name -> (T,) stacked as bars; totals: name -> (T,) drawn as markers over the bars."""
    x = [plain(f"{i}: {token}") for i, token in enumerate(tokens)]
    figure = go.Figure()
    for name, values in parts.items():
        figure.add_trace(go.Bar(x=x, y=values, name=name, hovertemplate=f"%{{x}}<br>{name}: %{{y:.3f}}<extra></extra>"))
    for name, values in totals.items():
        figure.add_trace(go.Scatter(x=x, y=values, name=name, mode="markers",
                                    marker=dict(symbol="line-ew-open", size=18, color="black", line=dict(width=3)),
                                    hovertemplate=f"%{{x}}<br>{name}: %{{y:.3f}}<extra></extra>"))
    figure.update_layout(barmode="relative", title=plain(title), yaxis_title=y_title, height=460,
                         xaxis=dict(type="category", tickangle=-60), margin=dict(t=50, l=10, r=10, b=10),
                         legend=dict(orientation="h", y=-0.25, yanchor="top", x=0, xanchor="left"))
    st.plotly_chart(figure, key=f"{key}_chart")
    figure_download(figure=figure, file_name=f"{key}.html", key=key)
