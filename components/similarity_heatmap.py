"""A square cosine-similarity matrix as a heatmap, the value in each cell."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from .figure_download import figure_download
from .plotly_text import plain, plain_all


def similarity_heatmap(*, matrix: np.ndarray, labels: list[str], hover: list[str], title: str, key: str) -> None:
    """labels: short tick labels (unique); hover: the full text of each row/column."""
    n = len(labels)
    custom = [[f"{plain(hover[i][:120])}<br>vs<br>{plain(hover[j][:120])}" for j in range(n)]
              for i in range(n)]
    ticks = plain_all(labels)
    figure = go.Figure(go.Heatmap(z=matrix, x=ticks, y=ticks, zmin=-1, zmax=1, colorscale="RdBu_r",
                                  customdata=custom, hovertemplate="%{customdata}<br>cosine %{z:.3f}<extra></extra>",
                                  text=np.round(matrix, 2), texttemplate="%{text}" if n <= 20 else None))
    figure.update_layout(title=plain(title), height=min(180 + 36 * n, 720), yaxis_autorange="reversed",
                         margin=dict(t=50, l=10, r=10, b=10))
    st.plotly_chart(figure, key=f"{key}_chart")
    figure_download(figure=figure, file_name=f"{key}.html", key=key)
