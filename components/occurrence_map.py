"""Every occurrence of a word as a point (WebGL: fluid with tens of thousands of points), coloured by a label."""
from __future__ import annotations

import textwrap

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from .plotly_text import plain, plain_all
from .projection import OKABE_ITO


def _hover(text: str) -> str:
    return "<br>".join(plain_all(textwrap.wrap(text, 70))) or " "


def occurrence_map(*, coords: np.ndarray, labels: list[str], hover: list[str], title: str, key: str,
                   axis_prefix: str = "PC") -> None:
    """coords: (n, 2); one WebGL trace per distinct label (most frequent first); hover: each point's text."""
    figure = go.Figure()
    labels_array = np.asarray(labels, dtype=object)
    order = sorted(set(labels), key=lambda label: -int((labels_array == label).sum()))
    small = len(labels) < 2000
    for number, label in enumerate(order):
        rows = np.flatnonzero(labels_array == label)
        figure.add_trace(go.Scattergl(
            x=coords[rows, 0], y=coords[rows, 1], mode="markers", name=plain(f"{label} ({len(rows):,})"),
            marker=dict(size=8 if small else 4, color=OKABE_ITO[number % len(OKABE_ITO)], opacity=0.8),
            customdata=[_hover(hover[i]) for i in rows], hovertemplate="%{customdata}<extra></extra>"))
    figure.update_layout(title=plain(title), height=560, xaxis_title=f"{axis_prefix} 1", yaxis_title=f"{axis_prefix} 2",
                         legend_title_text="", margin=dict(t=50, l=10, r=10, b=10))
    st.plotly_chart(figure, key=f"{key}_chart")
