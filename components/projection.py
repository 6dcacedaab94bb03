"""Points projected to 2-D or 3-D, coloured by a label, with each point's text on hover."""
from __future__ import annotations

import textwrap

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from .figure_download import figure_download
from .plotly_text import plain, plain_all

# Okabe & Ito's (2008) qualitative palette of 8 colours, told apart with each common colour-vision
# deficiency; yellow and black last (yellow is faint on white). More labels than colours cycle.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000")


def _hover(text: str) -> str:
    return "<br>".join(plain_all(textwrap.wrap(text, 60))) or " "


def projection_scatter(*, coords: np.ndarray, labels: list[str], hover: list[str], title: str, key: str,
                       axis_prefix: str = "PC", point_names: list[str] | None = None) -> None:
    """coords: (n, 2) or (n, 3); one trace per distinct label, in order of first appearance;
    point_names, if given, are written beside the points."""
    three_d = coords.shape[1] == 3
    figure = go.Figure()
    for number, label in enumerate(dict.fromkeys(labels)):
        rows = [i for i, value in enumerate(labels) if value == label]
        colour = OKABE_ITO[number % len(OKABE_ITO)]
        common = dict(name=plain(label), customdata=[_hover(hover[i]) for i in rows],
                      hovertemplate="%{customdata}<extra>" + plain(label) + "</extra>")
        if point_names is not None:
            common.update(mode="markers+text", text=[plain(point_names[i]) for i in rows], textposition="top center")
        else:
            common.update(mode="markers")
        if three_d:
            figure.add_trace(go.Scatter3d(x=coords[rows, 0], y=coords[rows, 1], z=coords[rows, 2],
                                          marker=dict(size=4, color=colour), **common))
        else:
            figure.add_trace(go.Scatter(x=coords[rows, 0], y=coords[rows, 1], marker=dict(size=9, color=colour),
                                        **common))
    axes = [f"{axis_prefix} {i + 1}" for i in range(coords.shape[1])]
    if three_d:
        figure.update_layout(scene=dict(xaxis_title=axes[0], yaxis_title=axes[1], zaxis_title=axes[2]))
    else:
        figure.update_layout(xaxis_title=axes[0], yaxis_title=axes[1])
    figure.update_layout(title=plain(title), height=520, legend_title_text="", margin=dict(t=50, l=10, r=10, b=10))
    st.plotly_chart(figure, key=f"{key}_chart")
    figure_download(figure=figure, file_name=f"{key}.html", key=key)
