"""AppTest of the Contributions page and of what it adds to Attention views and Head overview, on the
real default model: what they show, the page's state in the URL, and bad input."""
import json

import numpy as np

from tests.links import shared_link
from tests.test_pages_attention import open_page, texts
from tests.test_pages_embeddings import array

CONTRIBUTIONS, ATTENTION = "app/pages/contributions.py", "app/pages/attention.py"
OVERVIEW = "app/pages/head_overview.py"
SENTENCE = "The cat sat on the mat because it was tired."


def test_contributions_page_shows_every_measure_with_downloads():
    at = open_page(CONTRIBUTIONS, text_a=SENTENCE, text_b="It slept.")
    assert [h.value for h in at.header] == ["Norm-based attention: the whole layer, with the residual",
                                            "Value zeroing", "Head importance"]
    assert len(at.get("plotly_chart")) == 5        # residual matrix, mixing ratios, value zeroing, importance, pruning
    assert "no masked-LM head" in texts(at.info)   # the default model has none: the output objective only
    assert at.radio(key="objective").options == ["Output change ‖∂Y/∂ξ‖"]
    labels = [b.label for b in at.get("download_button")]
    assert {"Mixing matrices (JSON)", "Context-mixing ratios (CSV)", "Head importance (CSV)"} <= set(labels)
    ratio = array(json.loads(at.get("plotly_chart")[1].proto.spec)["data"][0]["y"])
    assert len(ratio) == 1 + 11 + 1 + 3 + 1 and 0 < min(ratio) and max(ratio) < 1  # [CLS] A [SEP] B [SEP]
    pruning = json.loads(at.get("plotly_chart")[4].proto.spec)["data"][0]
    heads_off, moved = array(pruning["x"]), array(pruning["y"])
    assert heads_off[0] == 0 and heads_off[-1] == 72 and moved[0] < 1e-6 < moved[-1]


def test_contributions_page_follows_layer_and_view_in_the_url():
    at = open_page(CONTRIBUTIONS, query={"mix_layer": "6", "vz_view": "Rollout up to this layer"}, text_a=SENTENCE)
    assert at.selectbox(key="mix_layer").value == 5
    title = json.loads(at.get("plotly_chart")[2].proto.spec)["layout"]["title"]["text"]
    assert "rollout after layer 6" in title
    rollout = array(json.loads(at.get("plotly_chart")[2].proto.spec)["data"][0]["z"]).astype(float)
    np.testing.assert_allclose(rollout.sum(-1), 1, rtol=1e-4)
    at.selectbox(key="mix_layer").set_value(2).run()
    assert not at.exception and shared_link(at)["mix_layer"] == "3"


def test_contributions_page_stops_value_zeroing_past_128_pieces_and_survives_bad_input():
    at = open_page(CONTRIBUTIONS, text_a="word " * 200)
    assert "more than the 128" in texts(at.warning) and len(at.get("plotly_chart")) == 2  # norm-based only
    at = open_page(CONTRIBUTIONS, text_a="I love 🐍\x00 Python שלום")
    assert "control or format character" in texts(at.warning) and len(at.get("plotly_chart")) == 5


def test_attention_views_draw_norm_weighted_heads():
    at = open_page(ATTENTION, query={"measure": "Norm-weighted"}, text_a=SENTENCE)
    assert at.radio(key="measure").value == "Norm-weighted"
    heatmap = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "norm-weighted" in heatmap["layout"]["title"]["text"]
    np.testing.assert_allclose(array(heatmap["data"][0]["z"]).astype(float).sum(-1), 1, rtol=1e-4)
    assert "each row divided by its" in texts(at.caption)
    at.radio(key="measure").set_value("Attention weights").run()
    assert not at.exception and "norm-weighted" not in texts(at.caption)


def test_head_overview_sets_contribution_beside_attention():
    at = open_page(OVERVIEW, text_a=SENTENCE)
    statistics = list(at.dataframe[0].value["statistic"])
    assert statistics[-3:] == ["Mean contribution Σⱼ ‖αᵢⱼ f(xⱼ)‖", "Norm-based share to [CLS]",
                               "Norm-based share to [SEP]"]
    assert "of its attention on [" in texts(at.info) and "largest such gap" in texts(at.info)


def test_head_importance_of_a_longer_input_waits_to_be_asked_for():
    at = open_page(CONTRIBUTIONS, text_a="word " * 68)           # 70 pieces: over 64, up to 128
    assert at.toggle(key="importance").value is False
    assert len(at.get("plotly_chart")) == 3                     # norm-based (2) and value zeroing, no importance
    assert "Head importance (CSV)" not in [b.label for b in at.get("download_button")]
