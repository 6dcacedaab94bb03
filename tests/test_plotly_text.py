"""A visitor's text in a chart is shown as typed: plotly draws <a href>, <b>, <br>… in titles, tick
labels, legends, hovers and point text, so every plotly component escapes what it is given."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
import streamlit as st

from components import (
    attention_heatmap,
    head_grid,
    layer_heatmap,
    layer_lines,
    matrix_heatmap,
    occurrence_map,
    projection,
    query_key,
    relation_bars,
    similarity_heatmap,
    stacked_parts,
)
from components.plotly_text import plain

HOSTILE = '<a href="http://example.invalid/x">log in</a><img src=x><b>'
SHOWN = "&lt;a href=\"http://example.invalid/x\"&gt;log in&lt;/a&gt;&lt;img src=x&gt;&lt;b&gt;"


@pytest.fixture
def drawn(monkeypatch):
    """The figures the components hand to st.plotly_chart, as plotly JSON."""
    figures = []
    monkeypatch.setattr(st, "plotly_chart", lambda figure, **_: figures.append(pio.to_json(figure, validate=False)))
    for module in (head_grid, layer_heatmap, layer_lines, matrix_heatmap, projection, relation_bars, similarity_heatmap,
                   stacked_parts, query_key):
        monkeypatch.setattr(module, "figure_download", lambda **_: None)
    return figures


def test_plain_escapes_markup_and_keeps_quotes():
    assert plain(HOSTILE) == SHOWN
    assert plain("Tom & Jerry's \"show\"") == "Tom &amp; Jerry's \"show\""


def assert_shown_as_text(figure_json: str) -> None:
    text = json.loads(figure_json)
    flat = json.dumps(text, ensure_ascii=False)
    assert "<a href" not in flat and "<img" not in flat, "a visitor's markup reached plotly unescaped"
    assert "&lt;a href" in flat  # and it is there, as text


def test_every_plotly_component_escapes_visitor_text(drawn):
    tokens = ["[CLS]", HOSTILE, "[SEP]"]
    weights = np.full((3, 3), 1 / 3)
    drawn.append(attention_heatmap.attention_figure(weights=weights, from_labels=tokens, to_labels=tokens,
                                                    title=HOSTILE).to_json())
    matrix_heatmap.matrix_heatmap(values=weights, rows=tokens, columns=tokens, title=HOSTILE, key="m")
    layer_heatmap.layer_heatmap(values={HOSTILE: [0.1, 0.2]}, title=HOSTILE, key="l", value_name="accuracy")
    layer_lines.layer_lines(series={HOSTILE: [0.1, 0.2]}, references={HOSTILE + "!": [0.0, 0.1]}, title=HOSTILE,
                            y_title=HOSTILE, key="ll")
    similarity_heatmap.similarity_heatmap(matrix=np.eye(2), labels=[HOSTILE, "b"], hover=[HOSTILE, "b"],
                                          title=HOSTILE, key="s")
    projection.projection_scatter(coords=np.zeros((2, 2)), labels=[HOSTILE, "x"], hover=[HOSTILE, "y"],
                                  title=HOSTILE, key="p", point_names=[HOSTILE, "n"])
    stacked_parts.stacked_parts(tokens=tokens, parts={"token": np.ones(3)}, totals={"sum": np.ones(3)},
                                title=HOSTILE, y_title="norm", key="sp")
    table = pd.DataFrame({"relation": [HOSTILE], "count": [3], "best head": ["1-1"], "accuracy": [0.5],
                          "baseline offset": [1], "baseline accuracy": [0.2], "held-out head": ["1-1"],
                          "held-out accuracy": [0.4]})
    relation_bars.relation_bars(table=table, title=HOSTILE, key="r")
    occurrence_map.occurrence_map(coords=np.zeros((2, 2)), labels=[HOSTILE, "x"], hover=[HOSTILE, "y"],
                                  title=HOSTILE, key="o")
    query_key.query_key(products=np.ones((3, 4)), scores=np.ones(3), probs=weights[0], tokens=tokens,
                        query_label=HOSTILE, key="q")
    assert len(drawn) == 10
    for figure_json in drawn:
        assert_shown_as_text(figure_json)


@pytest.mark.parametrize("options", [dict(selected=(1, 2), percent=True), dict(zmin=0.0, zmax=1.0, height=300)])
def test_figures_built_without_validation_are_what_plotlys_validator_makes_of_them(drawn, options):
    """unchecked_figure skips plotly's validation for speed: the spec must be exactly what the validator
    would produce, or plotly.js may read it differently."""
    head_grid.head_grid(values=np.arange(12.0).reshape(3, 4) / 12, title=HOSTILE, key="g", **options)
    (figure_json,) = drawn
    validated = pio.to_json(go.Figure(json.loads(figure_json)), validate=False)
    assert json.loads(validated) == json.loads(figure_json)


def test_the_attention_heatmap_is_what_plotlys_validator_makes_of_it():
    tokens = ["[CLS]", "the", HOSTILE, "the", "[SEP]"]
    weights = np.random.default_rng(0).dirichlet(np.ones(5), size=5)
    figure = attention_heatmap.attention_figure(weights=weights, from_labels=tokens, to_labels=tokens, title=HOSTILE)
    ours = json.loads(pio.to_json(figure, validate=False))
    assert json.loads(pio.to_json(go.Figure(ours), validate=False)) == ours


@pytest.mark.parametrize("draw", [
    lambda: matrix_heatmap.matrix_heatmap(values=np.arange(6.0).reshape(2, 3) - 2, rows=[HOSTILE, "b"],
                                          columns=["x", HOSTILE, "z"], title=HOSTILE, key="m", highlight_row=1,
                                          highlight_columns=(0, 1)),
    lambda: matrix_heatmap.matrix_heatmap(values=np.eye(3), rows=["a", "a", "b"], columns=["a", "a", "b"], title="t",
                                          key="m", colorscale="Blues", zmid=None, height=300),
    lambda: stacked_parts.stacked_parts(tokens=["[CLS]", HOSTILE], parts={"token": np.ones(2), "position": -np.ones(2)},
                                        totals={"‖E‖ & sum": np.ones(2)}, title=HOSTILE, y_title="norm", key="sp"),
])
def test_matrix_and_stacked_figures_are_what_plotlys_validator_makes_of_them(drawn, draw):
    draw()
    (figure_json,) = drawn
    validated = pio.to_json(go.Figure(json.loads(figure_json)), validate=False)
    assert json.loads(validated) == json.loads(figure_json)
