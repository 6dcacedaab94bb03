"""One head's attention as a plotly heatmap: rows attend to columns, exact values on hover."""
from __future__ import annotations

from collections import Counter

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.colors import get_colorscale

from .plotly_text import plain, unchecked_figure

BLUES = get_colorscale("Blues")  # as plotly's validator writes it (unchecked_figure skips that)


def _unique(labels: list[str]) -> list[str]:
    """Plotly merges equal category labels, so repeated tokens get their position appended ("the·5")."""
    counts = Counter(labels)
    return [plain(f"{label}·{i}" if counts[label] > 1 else label) for i, label in enumerate(labels)]


def attention_figure(*, weights: np.ndarray, from_labels: list[str], to_labels: list[str], title: str) -> go.Figure:
    """weights (R, C): row i is how token from_labels[i] spreads its attention over to_labels."""
    side = max(360, min(18 * len(from_labels) + 140, 900))
    return unchecked_figure({
        "data": [{"type": "heatmap", "z": weights.astype(np.float32), "x": _unique(to_labels),
                  "y": _unique(from_labels), "colorscale": BLUES, "zmin": 0.0,
                  "colorbar": {"title": {"text": "weight"}},
                  "hovertemplate": "from <b>%{y}</b><br>to <b>%{x}</b><br>weight %{z:.4f}<extra></extra>"}],
        "layout": {"title": {"text": plain(title)}, "height": side, "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
                   "xaxis": {"title": {"text": "attends to"}, "side": "top", "tickangle": -60},
                   "yaxis": {"title": {"text": "token"}, "autorange": "reversed"}},
    })


def render_attention_heatmap(*, weights: np.ndarray, from_labels: list[str], to_labels: list[str], title: str,
                             key: str) -> go.Figure:
    """Show the heatmap in the page; returns the figure (for an HTML download)."""
    figure = attention_figure(weights=weights, from_labels=from_labels, to_labels=to_labels, title=title)
    st.plotly_chart(figure, key=key, config={"toImageButtonOptions": {"filename": key}})
    return figure
