"""The Pre-training pages' plotly components show a visitor's text as typed (see components/plotly_text.py)."""
from __future__ import annotations

import numpy as np
import plotly.io as pio
import streamlit as st

from components import pretraining_views
from tests.test_plotly_text import HOSTILE, assert_shown_as_text


def test_pretraining_charts_escape_visitor_text(monkeypatch):
    drawn = []
    monkeypatch.setattr(st, "plotly_chart", lambda figure, **_: drawn.append(pio.to_json(figure, validate=False)))
    monkeypatch.setattr(pretraining_views, "figure_download", lambda **_: None)
    pretraining_views.probability_bars(labels=[HOSTILE, "b"], probabilities=[0.5, 0.25], title=HOSTILE, key="b")
    pretraining_views.lens_heatmap(tokens=[[HOSTILE, "a"], ["a", HOSTILE]], probabilities=np.full((2, 2), 0.25),
                                   title=HOSTILE, key="l")
    pretraining_views.pinned_curves(words=[HOSTILE], ranks=np.ones((2, 1)), probabilities=np.full((2, 1), 0.5),
                                    key="p")
    assert len(drawn) == 4
    for figure_json in drawn:
        assert_shown_as_text(figure_json)
