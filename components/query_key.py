"""bertviz's neuron view for one query token: q ∘ k per dimension against every key, then the
score (the sum, over √d_k) and the softmax, side by side."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from .figure_download import figure_download
from .plotly_text import plain


def query_key(*, products: np.ndarray, scores: np.ndarray, probs: np.ndarray, tokens: list[str],
              query_label: str, key: str) -> None:
    """products: (T, d_k) q_t ∘ k_j; scores, probs: (T,)."""
    y = [plain(f"{i}: {token}") for i, token in enumerate(tokens)]
    limit = float(np.abs(products).max()) or 1.0
    figure = make_subplots(rows=1, cols=3, shared_yaxes=True, column_widths=[0.7, 0.15, 0.15], horizontal_spacing=0.02,
                           subplot_titles=("q ∘ k, dimension by dimension of the head", "q·k / √dₖ", "softmax"))
    figure.add_trace(go.Heatmap(z=products, x=list(range(products.shape[1])), y=y, colorscale="RdBu_r",
                                zmin=-limit, zmax=limit,
                                colorbar=dict(orientation="h", x=0, xanchor="left", y=-0.13, yanchor="top", len=0.5,
                                              thickness=10, title=dict(text="q∘k", side="right")),
                                hovertemplate="key %{y}<br>dim %{x}: %{z:.4f}<extra></extra>"), row=1, col=1)
    figure.add_trace(go.Bar(x=scores, y=y, orientation="h", marker_color=np.where(scores >= 0, "#d6604d", "#4393c3"),
                            hovertemplate="%{y}<br>score %{x:.4f}<extra></extra>", showlegend=False), row=1, col=2)
    figure.add_trace(go.Bar(x=probs, y=y, orientation="h", marker_color="#1a9850",
                            hovertemplate="%{y}<br>weight %{x:.4f}<extra></extra>", showlegend=False), row=1, col=3)
    figure.update_yaxes(autorange="reversed", type="category")
    figure.update_layout(title=plain(f"Query {query_label} against every key"), height=min(160 + 22 * len(tokens), 900),
                         margin=dict(t=80, l=10, r=10, b=70))
    st.plotly_chart(figure, key=f"{key}_chart")
    figure_download(figure=figure, file_name=f"{key}.html", key=key)
