"""A visitor's text in a chart is shown as typed: plotly draws <a href>, <b>, <br>… in titles, tick
labels, legends, hovers and point text, so every plotly component escapes what it is given."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import streamlit as st

from components import (
    attention_heatmap,
    layer_heatmap,
    layer_lines,
    matrix_heatmap,
    projection,
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
    monkeypatch.setattr(st, "plotly_chart", lambda figure, **_: figures.append(figure.to_json()))
    for module in (layer_heatmap, layer_lines, matrix_heatmap, projection, relation_bars, similarity_heatmap,
                   stacked_parts):
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
    assert len(drawn) == 8
    for figure_json in drawn:
        assert_shown_as_text(figure_json)
