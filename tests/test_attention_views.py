"""Attention views: the analysis functions, the packed bertviz documents, and the page (AppTest)."""
from __future__ import annotations

import base64
import csv
import io
import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.attention import (
    attention_view,
    head_csv,
    head_json,
    hide_special,
    merge_pieces,
    run_attention,
    select_direction,
)
from components.attention_heatmap import attention_figure
from components.bertviz_views import MIN_WEIGHT, head_view_html, model_view_html, pack_attention
from tests.conftest import ROOT
from tests.links import reopen, shared_link

PAIR = ("I love my pet Python", "Tokenization is unbelievably useful")


@pytest.fixture(scope="module")
def pair_run(default_model):
    return run_attention(*default_model, *PAIR)


def test_run_returns_every_layer_and_head_as_row_distributions(pair_run, default_model):
    model, _ = default_model
    L, nh, T, T2 = pair_run.attentions.shape
    assert (L, nh) == (model.config.num_hidden_layers, model.config.num_attention_heads)
    assert T == T2 == len(pair_run.encoding)
    np.testing.assert_allclose(pair_run.attentions.sum(-1), 1.0, atol=1e-5)


def test_hiding_specials_drops_their_rows_and_columns_with_or_without_renormalising(pair_run):
    special = pair_run.encoding.special
    kept_expected = [i for i, s in enumerate(special) if not s]
    raw, kept = hide_special(pair_run.attentions[0], special, renormalize=False)
    assert kept == kept_expected
    np.testing.assert_array_equal(raw, pair_run.attentions[0][:, kept][:, :, kept])
    to_specials = pair_run.attentions[0][:, kept][:, :, [i for i, s in enumerate(special) if s]].sum(-1)
    np.testing.assert_allclose(raw.sum(-1), 1.0 - to_specials, atol=1e-5)  # what went to [CLS]/[SEP] is gone
    renormalized, _ = hide_special(pair_run.attentions[0], special, renormalize=True)
    np.testing.assert_allclose(renormalized.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(renormalized, raw / raw.sum(-1, keepdims=True), rtol=1e-6)


def test_merging_pieces_sums_attention_to_a_word_and_averages_attention_from_it():
    weights = np.array([[0.5, 0.2, 0.3],
                        [0.1, 0.6, 0.3],
                        [0.4, 0.4, 0.2]], dtype=np.float32)
    merged = merge_pieces(weights, [(0,), (1, 2)])
    # to word 1 = w[:, 1] + w[:, 2]; from word 1 = mean of rows 1 and 2
    expected = np.array([[0.5, 0.5],
                         [(0.1 + 0.4) / 2, (0.9 + 0.6) / 2]], dtype=np.float32)
    np.testing.assert_allclose(merged, expected, atol=1e-6)


def test_word_view_labels_words_keeps_specials_and_rows_still_sum_to_one(pair_run):
    enc = pair_run.encoding
    assert any(len(w.pieces) > 1 for w in enc.words), "the test needs a word split into pieces"
    view = attention_view(pair_run, 3, merge_words=True)
    assert view.weights.shape[-1] == len(enc.words) + sum(enc.special)
    assert "tokenization" in view.from_labels and "[CLS]" in view.from_labels
    assert not any(label.startswith("##") for label in view.from_labels)
    np.testing.assert_allclose(view.weights.sum(-1), 1.0, atol=1e-5)


def test_sentence_filters_keep_rows_from_one_sentence_and_columns_to_the_other(pair_run):
    segments = pair_run.encoding.token_type_ids
    a = [i for i, s in enumerate(segments) if s == 0]
    b = [i for i, s in enumerate(segments) if s == 1]
    a_to_b = attention_view(pair_run, 1, direction="A→B")
    np.testing.assert_array_equal(a_to_b.weights, pair_run.attentions[1][:, a][:, :, b])
    assert a_to_b.from_labels[0] == "[CLS]" and a_to_b.to_labels[-1] == "[SEP]"
    b_to_a = attention_view(pair_run, 1, direction="B→A")
    assert b_to_a.weights.shape[1:] == (len(b), len(a))
    with pytest.raises(ValueError):
        select_direction(a_to_b, "A→C")


def test_toggles_combine_in_the_documented_order(pair_run):
    view = attention_view(pair_run, 2, hide_specials=True, renormalize=True, merge_words=True, direction="B→B")
    assert "[SEP]" not in view.to_labels and "unbelievably" in view.to_labels
    np.testing.assert_allclose(view.weights.sum(-1) <= 1.0 + 1e-5, True)


def test_head_exports_round_trip(pair_run):
    view = attention_view(pair_run, 4)
    rows = list(csv.reader(io.StringIO(head_csv(view, 5))))
    assert rows[0][1:] == view.to_labels and [r[0] for r in rows[1:]] == view.from_labels
    np.testing.assert_allclose(np.array([r[1:] for r in rows[1:]], dtype=float), view.weights[5], atol=1e-5)
    data = json.loads(head_json(view, 5, layer=5, head=6, model="m"))  # index 5; the page numbers from 1
    assert data["layer"] == 5 and data["head"] == 6 and data["to_tokens"] == view.to_labels
    np.testing.assert_allclose(data["weights"], view.weights[5], atol=1e-6)


def _unpack(packed: dict) -> np.ndarray:
    """The Python twin of bertviz_shim.js's expandAttention."""
    shape = packed["shape"]
    counts = np.frombuffer(base64.b64decode(packed["counts"]), "<u2")
    cols = np.frombuffer(base64.b64decode(packed["cols"]), "<u2")
    values = np.frombuffer(base64.b64decode(packed["values"]), np.uint8)
    dense = np.zeros((len(counts), shape[-1]), np.float32)
    dense[np.repeat(np.arange(len(counts)), counts), cols] = values / 255
    return dense.reshape(shape)


def test_packing_keeps_visible_weights_to_within_half_a_quantisation_step(pair_run):
    weights = pair_run.attentions
    unpacked = _unpack(pack_attention(weights))
    visible = weights >= MIN_WEIGHT
    assert np.abs(unpacked[visible] - weights[visible]).max() <= 0.5 / 255 + 1e-6
    assert (unpacked[~visible] == 0).all()


def test_head_view_document_is_self_contained_and_small(pair_run):
    view = attention_view(pair_run, 0)
    html = head_view_html(weights=view.weights, from_labels=view.from_labels, to_labels=view.to_labels,
                          layer=0, key="hv")
    assert "Layer 1 ·" in html and "Head view, layer 1<" in html  # index 0 is shown as layer 1
    assert not re.search(r"(src|href)=[\"']?https?:", html) and "cdnjs" not in html
    assert "d3js.org v5.7.0" in html and "jQuery v3.7.1" in html
    assert "rowsWithLinks(d, 0.01 * activeHeads())" in html and "renderAttention(svg, config" in html  # patched
    assert "config.boxMakers.push(" in html and "drawBoxes();" in html  # hover boxes made on the first hover
    assert json.dumps(view.from_labels) in html
    bertviz_json_bytes = len(json.dumps(pair_run.attentions.tolist()))
    assert len(html) < bertviz_json_bytes


def test_the_page_links_the_scripts_from_the_apps_static_route(pair_run):
    """What st.iframe sends links d3, jQuery and the shim (cached by the browser); the download inlines them."""
    view = attention_view(pair_run, 0)
    arguments = {"weights": view.weights, "from_labels": view.from_labels, "to_labels": view.to_labels,
                 "layer": 0, "key": "hv"}
    sent, download = head_view_html(**arguments, inline_scripts=False), head_view_html(**arguments)
    linked = re.findall(r'<script src="([^"]+)"></script>', sent)
    assert linked == ["app/static/d3.min.js", "app/static/jquery.min.js", "app/static/bertviz_shim.js"]
    assert all((ROOT / "static" / url.removeprefix("app/static/")).is_file() for url in linked)
    assert "d3js.org v5.7.0" not in sent and "<script src=" not in download
    assert len(download) - len(sent) > 300_000 and sent.split("<body", 1)[1] == download.split("<body", 1)[1]


def test_model_view_document_carries_every_layer(pair_run):
    view = attention_view(pair_run)
    html = model_view_html(weights=view.weights, from_labels=view.from_labels, to_labels=view.to_labels, key="mv")
    shape = json.loads(re.search(r'"shape": (\[[^\]]*\])', html).group(1))
    assert shape == list(pair_run.attentions.shape)
    assert "cdnjs" not in html
    params = json.JSONDecoder().raw_decode(html.rsplit("expandParams(", 1)[1])[0]
    L, nh = shape[:2]
    assert params["include_layers"] == list(range(1, L + 1)) and params["include_heads"] == list(range(1, nh + 1))


def test_heatmap_hover_shows_from_to_and_four_decimals():
    weights = np.array([[0.123456, 0.876544], [0.5, 0.5]], dtype=np.float32)
    figure = attention_figure(weights=weights, from_labels=["the", "the"], to_labels=["a", "b"], title="t")
    trace = figure.data[0]
    assert "%{z:.4f}" in trace.hovertemplate and "from" in trace.hovertemplate and "to" in trace.hovertemplate
    assert list(trace.y) == ["the·0", "the·1"]  # repeated tokens stay separate rows
    np.testing.assert_allclose(np.asarray(trace.z), weights)


# The page, on the real default model.

PAGE = "app/pages/attention.py"


def _page(text_a: str, text_b: str = "", **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=180)
    at.session_state["text_a"], at.session_state["text_b"] = text_a, text_b
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(PAGE)
    return at.run()


def _iframes(at: AppTest) -> list:
    return at.get("iframe")


def _view_params(at: AppTest) -> dict:
    """The parameters the page handed to bertviz's script in its (only) iframe."""
    srcdoc = _iframes(at)[0].proto.srcdoc
    return json.JSONDecoder().raw_decode(srcdoc.rsplit("expandParams(", 1)[1])[0]


def test_page_shows_the_head_view_and_the_heatmap():
    at = _page("The cat sat on the mat because it was tired.")
    assert not at.exception
    assert at.title[0].value == "Attention views"
    frames = _iframes(at)
    assert len(frames) == 1 and "cat" in frames[0].proto.srcdoc
    assert len(at.get("plotly_chart")) == 1
    assert any("MB sent" in c.value for c in at.caption)
    assert any("head view of layer 1," in c.value for c in at.caption)  # the first layer is layer 1, not 0


def test_page_opens_the_layer_and_head_the_url_numbers_from_1():
    at = _page("The cat sat on the mat.", layer="6", head="12")
    assert (at.selectbox(key="layer").value, at.selectbox(key="head").value) == (5, 11)
    assert json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"] == "Layer 6, head 12"
    assert _view_params(at)["include_layers"] == [5]               # bertviz still gets the index
    at = _page("The cat sat on the mat.", layer="0", head="x")     # below the first / not a number: fall back
    assert (at.selectbox(key="layer").value, at.selectbox(key="head").value) == (0, 0)
    assert not at.exception and not at.error


def test_page_toggles_and_layer_changes_redraw_without_errors():
    at = _page("Tokenization is unbelievably useful")
    assert at.selectbox(key="layer").options == ["1", "2", "3", "4", "5", "6"]  # numbered from 1
    at.selectbox(key="layer").set_value(5).run()          # index 5: the last layer, 6
    at.toggle(key="hide").set_value(True).run()
    at.toggle(key="renorm").set_value(True).run()
    at.toggle(key="words").set_value(True).run()
    assert not at.exception
    shown = _view_params(at)["attention"][0]
    assert "tokenization" in shown["left_text"] and "[CLS]" not in shown["left_text"]
    assert shared_link(at)["layer"] == "6" and shared_link(at)["words"] == "true"
    assert any("head view of layer 6," in c.value for c in at.caption)
    at.segmented_control(key="view").set_value("Model view").run()
    assert not at.exception and _view_params(at)["total_heads"] == 12


def test_page_offers_sentence_filters_for_a_pair():
    at = _page(*PAIR)
    radio = at.radio(key="dir")
    assert list(radio.options) == ["All", "A→A", "A→B", "B→A", "B→B"]
    radio.set_value("A→B").run()
    assert not at.exception
    shown = _view_params(at)["attention"][0]
    assert shown["left_text"][:3] == ["[CLS]", "i", "love"] and shown["right_text"][0] == "token"


def test_page_announces_truncation_of_long_input():
    at = _page("word " * 700)
    assert not at.exception
    assert any("truncated" in w.value for w in at.warning)
    assert len(_iframes(at)) == 1


def test_changing_layer_head_or_toggles_does_not_rerun_the_model(monkeypatch):
    """One forward per sentence; a layer's maps are computed from its cached input once, when first shown."""
    from bert_core import BertModel
    forwards, layers_computed = [], []
    own_forward, own_probabilities = BertModel.forward, BertModel.attention_probabilities

    def counted_forward(self, *args, **kwargs):
        forwards.append(1)
        return own_forward(self, *args, **kwargs)

    def counted_probabilities(self, layer_input, layer, attention_mask=None):
        layers_computed.append(layer)
        return own_probabilities(self, layer_input, layer, attention_mask)
    # on the class, not the shared cached model: undoing an instance patch would leave a stale method on it
    monkeypatch.setattr(BertModel, "forward", counted_forward)
    monkeypatch.setattr(BertModel, "attention_probabilities", counted_probabilities)
    at = _page("A sentence nobody has sent to this page before, about zebras.")
    assert (len(forwards), layers_computed) == (1, [0])
    at.selectbox(key="head").set_value(7).run()
    at.toggle(key="words").set_value(True).run()
    at.selectbox(key="layer").set_value(3).run()
    at.selectbox(key="layer").set_value(0).run()
    assert not at.exception
    assert (len(forwards), layers_computed) == (1, [0, 3])


def test_a_shared_link_reopens_the_same_view_in_a_new_session():
    at = _page(*PAIR)
    at.selectbox(key="layer").set_value(3).run()
    at.selectbox(key="head").set_value(10).run()
    at.radio(key="dir").set_value("A→B").run()
    at.toggle(key="hide").set_value(True).run()
    at.segmented_control(key="view").set_value("Model view").run()
    link = shared_link(at)
    assert {name: link[name] for name in ("layer", "head", "dir", "hide", "view")} == {
        "layer": "4", "head": "11", "dir": "A→B", "hide": "true", "view": "Model view"}
    assert "words" not in link and "renorm" not in link                # defaults stay out of the link
    again = reopen(link, PAGE)
    assert not again.exception
    assert (again.selectbox(key="layer").value, again.selectbox(key="head").value) == (3, 10)
    assert again.radio(key="dir").value == "A→B" and again.toggle(key="hide").value
    assert again.segmented_control(key="view").value == "Model view"
    assert json.loads(again.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"] == "Layer 4, head 11"
    assert _view_params(again)["attention"] == _view_params(at)["attention"]
