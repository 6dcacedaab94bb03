"""Values against layer (0 = embedding output … L), one line per series, dashed reference lines."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from .figure_download import figure_download
from .plotly_text import plain


def layer_lines(*, series: dict[str, list[float | None]], references: dict[str, list[float | None]] | None = None,
                title: str, y_title: str, key: str, y_range: tuple[float, float] | None = None) -> None:
    """series and references map a name to one value per layer (None: not defined there)."""
    figure = go.Figure()
    for name, values in series.items():
        figure.add_trace(go.Scatter(x=list(range(len(values))), y=values, name=plain(name), mode="lines+markers"))
    for name, values in (references or {}).items():
        figure.add_trace(go.Scatter(x=list(range(len(values))), y=values, name=plain(name), mode="lines",
                                    line=dict(dash="dash", width=1.5)))
    figure.update_layout(title=plain(title), xaxis_title="layer (0 = embedding output)", yaxis_title=plain(y_title),
                         height=420, margin=dict(t=50, l=10, r=10, b=10), xaxis=dict(dtick=1))
    if y_range is not None:
        figure.update_yaxes(range=list(y_range))
    st.plotly_chart(figure, key=f"{key}_chart")
    figure_download(figure=figure, file_name=f"{key}.html", key=key)
