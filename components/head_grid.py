"""One number for every attention head: a layers × heads heatmap, one head outlined; clicking a cell
returns that head. Indices in and out are 0-based; the axes and hovers number layers and heads from 1
(layer 1…L, head 1…H), as every page does."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st
from plotly.colors import get_colorscale

from .figure_download import figure_download
from .plotly_text import plain, unchecked_figure

VIRIDIS = get_colorscale("Viridis")  # as plotly's validator writes it (unchecked_figure skips that)


def head_grid(*, values: np.ndarray, title: str, key: str, selected: tuple[int, int] | None = None,
              zmin: float | None = None, zmax: float | None = None, percent: bool = False,
              on_click: Callable[[int, int], None] | None = None, height: int | None = None,
              download: bool = True) -> tuple[int, int] | None:
    """values: (L, nh); selected: the (layer, head) to outline; percent: show values as percentages.
    on_click(layer, head) runs before the next run of the page when a cell is clicked (so it may set
    the widgets that pick a head). Returns the (layer, head) clicked, else None."""
    layers, heads = values.shape
    value_format = ".1%" if percent else ".4f"
    layer_numbers, head_numbers = np.arange(1, layers + 1), np.arange(1, heads + 1)
    # Plotly heatmaps cannot be selected; an invisible marker on every cell takes the click (and the hover).
    layer_of, head_of = np.divmod(np.arange(layers * heads), heads)
    shapes = []
    if selected is not None:
        layer, head = selected[0] + 1, selected[1] + 1
        shapes.append({"type": "rect", "x0": head - 0.5, "x1": head + 0.5, "y0": layer - 0.5, "y1": layer + 0.5,
                       "line": {"color": "red", "width": 3}})
    colorbar = {"thickness": 12, **({"tickformat": ".0%"} if percent else {})}
    figure = unchecked_figure({
        "data": [
            {"type": "heatmap", "z": values, "x": head_numbers, "y": layer_numbers, "colorscale": VIRIDIS,
             **({"zmin": zmin} if zmin is not None else {}), **({"zmax": zmax} if zmax is not None else {}),
             "colorbar": colorbar, "hoverinfo": "skip"},
            {"type": "scatter", "x": head_numbers[head_of], "y": layer_numbers[layer_of], "mode": "markers",
             "showlegend": False, "marker": {"size": 22, "symbol": "square", "opacity": 0.01, "color": "white"},
             "customdata": values.reshape(-1),
             "hovertemplate": f"layer %{{y}}, head %{{x}}<br>%{{customdata:{value_format}}}<extra></extra>"},
        ],
        "layout": {"title": {"text": plain(title), "font": {"size": 14}}, "height": height or 110 + 34 * layers,
                   "xaxis": {"title": {"text": "head"}, "dtick": 1, "tickangle": 0, "tickfont": {"size": 10},
                             "range": [0.5, heads + 0.5]},
                   "yaxis": {"title": {"text": "layer"}, "dtick": 1, "range": [layers + 0.5, 0.5]},
                   "margin": {"t": 40, "l": 10, "r": 10, "b": 10}, **({"shapes": shapes} if shapes else {})},
    })
    chart_key = f"{key}_chart"

    def call_back() -> None:
        if (cell := _clicked(st.session_state.get(chart_key))) is not None:
            on_click(*cell)

    event = st.plotly_chart(figure, key=chart_key, on_select=call_back if on_click else "rerun",
                            selection_mode="points")
    if download:
        figure_download(figure=figure, file_name=f"{key}.html", key=key)
    return _clicked(event)


def _clicked(event) -> tuple[int, int] | None:
    """The (layer, head) of the cell a chart's selection event holds, 0-based."""
    points = event.selection.points if event else []
    return (int(points[0]["y"]) - 1, int(points[0]["x"]) - 1) if points else None
