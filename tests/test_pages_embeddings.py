"""The Embeddings pages on the real default model: they render, react, and answer bad input with messages."""
from __future__ import annotations

import base64
import json

import numpy as np
import plotly.io
import pytest
from streamlit.testing.v1 import AppTest

from app import polysemy
from app.__main__ import main
from bert_core import BertModel
from tests.browser import streamlit_server
from tests.conftest import ROOT

PORT = 8513


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=240)
    at.run()
    at.switch_page(f"app/pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def figure(at: AppTest, index: int):
    return plotly.io.from_json(at.get("plotly_chart")[index].proto.spec)


def array(value) -> np.ndarray:
    """A plotly array from a figure's JSON: a list, or numpy bytes in base64 ("bdata")."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return flat.reshape([int(n) for n in str(value.get("shape", len(flat))).split(",")])
    return np.asarray(value)


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


# ------------------------------------------------------------------------------------------------
# A word in context


def test_word_in_context_shows_the_python_preset():
    at = open_page("word_in_context")
    assert at.title[0].value == "A word in context"
    assert len(at.get("plotly_chart")) == 2 and not at.error
    pieces, nearest = at.dataframe[0].value, at.dataframe[1].value
    assert list(pieces["word pieces"]) == ["python"] * 4
    assert all(row.count("(") == 8 for row in nearest["nearest tokens (cosine)"])
    assert at.slider(key="wic_layer").value == 6


def test_word_in_context_says_which_sentences_lack_the_word_and_asks_which_occurrence():
    at = open_page("word_in_context")
    at.text_input(key="wic_word").set_value("bank")
    at.text_area(key="wic_text").set_value("The bank by the bank.\nNo such word.\nThe bank raised rates.")
    at.button[0].click().run()
    assert not at.exception
    assert "Sentence 2 does not contain “bank”" in texts(at.warning)
    choice = at.radio(key="wic_occurrence_1_The bank by the bank.")
    before = at.dataframe[1].value.iloc[0, 2]
    choice.set_value(1).run()
    assert not at.exception and at.dataframe[1].value.iloc[0, 2] != before


def test_word_in_context_moving_the_layer_slider_does_not_run_the_model_again(monkeypatch):
    forward = BertModel.forward
    runs = []

    def counted_forward(self, *args, **kwargs):
        runs.append(1)
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(BertModel, "forward", counted_forward)
    at = open_page("word_in_context")
    at.text_area(key="wic_text").set_value("My pet Python sleeps.\nI code in Python.\nPython is a snake.")
    at.button[0].click().run()
    assert not at.exception and runs, "a new sentence list must run the model (else this test counts nothing)"
    before, nearest = len(runs), at.dataframe[1].value
    at.slider(key="wic_layer").set_value(0).run()
    assert not at.exception and "layer 0" in at.subheader[0].value
    assert not at.dataframe[1].value.equals(nearest)     # the page did redraw at the new layer…
    assert len(runs) == before                           # …from the cached vectors


@pytest.mark.parametrize("word, text, message", [
    ("", "I love Python", "Type the word"),
    ("python", "I love Python", "at least two sentences"),
    ("python", "", "at least two sentences"),
    ("python", "Python\n" + "word " * 600 + "Python", "beyond the model's 512 word pieces"),
], ids=["no word", "one sentence", "no sentence", "word after 512 pieces"])
def test_word_in_context_bad_input_gets_a_message_not_an_exception(word, text, message):
    at = open_page("word_in_context")
    at.text_input(key="wic_word").set_value(word)
    at.text_area(key="wic_text").set_value(text)
    at.button[0].click().run()
    assert not at.exception
    assert message in texts(at.error) + texts(at.warning)


def test_word_in_context_reads_emoji_control_characters_and_a_long_line():
    at = open_page("word_in_context")
    at.text_area(key="wic_text").set_value("🐍 my pet Python\x00 sleeps\n" + "Python " * 2000)
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 2 and len(at.dataframe[0].value) == 2


# ------------------------------------------------------------------------------------------------
# Word senses


def test_word_senses_shows_the_example_set_and_the_cli_numbers(tmp_path):
    out = tmp_path / "senses.json"
    assert main(["polysemy", "--data", str(ROOT / "data" / "senses_example.tsv"), "--json", str(out)]) == 0
    cli = json.loads(out.read_text())
    at = open_page("word_senses")
    assert at.title[0].value == "Word senses across layers" and not at.error
    assert at.metric[0].value == "262" and at.metric[1].value == "12"
    scores = at.dataframe[0].value
    assert list(scores["word"])[:3] == ["all words", "python", "fair"]
    for entry in cli["layers"]:
        column = scores[f"layer {entry['layer']}"]
        assert column.iloc[0] == round(entry["accuracy"], 3)
        assert list(column.iloc[1:]) == [round(entry["per_word"][w], 3) for w in scores["word"][1:]]
    table = polysemy.read_table((ROOT / "data" / "senses_example.tsv").read_bytes(), "senses_example.tsv")
    assert len({(r.word, r.sense) for r in table.rows}) >= 24 and len({r.word for r in table.rows}) >= 10
    assert len(at.get("plotly_chart")) == 3   # accuracy against layer, projection, within/between


def test_word_senses_projects_a_chosen_word_in_3d():
    at = open_page("word_senses")
    at.selectbox(key="ws_word").set_value("bank")
    at.radio(key="ws_dims").set_value("3-D").run()
    assert not at.exception
    projection = figure(at, 1)
    assert {trace.type for trace in projection.data} == {"scatter3d"}
    assert {trace.name for trace in projection.data} == {"money", "river"}


@pytest.mark.parametrize("name, data, level, message", [
    ("bad.csv", b"word,text\nbank,the bank\n", "error", "missing column(s) sentence"),
    ("bad.tsv", "word\tsentence\n".encode("utf-16"), "error", "UTF-16"),
    ("bad.csv", b"", "error", "empty"),
    ("none.csv", b"word,sense,sentence\nbank,money,no such word\n", "error", "no usable rows"),
    ("one.csv", b"word,sense,sentence\nbank,money,the bank\nbank,money,a bank\nseal,x,a seal\nseal,y,the seal\n"
                b"bank,money,caf\xe9 bank\n", "warning", "One sense only"),
    ("nosense.tsv", b"word\tsentence\nbank\tthe bank\nbank\ta bank\n", "warning", "no sense column"),
])
def test_word_senses_bad_uploads_get_clear_messages(name, data, level, message):
    at = open_page("word_senses")
    at.radio(key="ws_source").set_value("Upload a table").run()
    at.file_uploader(key="ws_upload").upload(name, data, "text/plain").run()
    assert not at.exception
    assert message in texts(getattr(at, level))
    if name == "one.csv":   # the non-UTF-8 row is listed, the rest analysed
        assert at.metric[0].value == "4" and list(at.dataframe[0].value["line"]) == [6]


# ------------------------------------------------------------------------------------------------
# Sentence embeddings


def test_sentence_embeddings_page_pools_and_maps():
    at = open_page("sentence_embeddings")
    assert at.title[0].value == "Sentence embeddings" and not at.error
    heatmap = array(figure(at, 0).data[0].z)
    assert heatmap.shape == (8, 8) and heatmap[0, 1] != heatmap[0, 2]
    at.radio(key="se_pooling").set_value("cls").run()
    assert not at.exception and array(figure(at, 0).data[0].z)[0, 1] != heatmap[0, 1]


def test_umap_of_fewer_than_five_sentences_falls_back_to_pca():
    at = open_page("sentence_embeddings")
    at.text_area(key="se_text").set_value("One cat.\nTwo dogs.\nThree birds.")
    at.button[0].click()
    at.radio(key="se_method").set_value("UMAP").run()
    assert not at.exception and "UMAP needs at least 5 points" in texts(at.info)
    assert "PCA" in figure(at, 1).layout.title.text


@pytest.mark.slow  # the first UMAP in a process compiles numba code (about a minute on 2 cores)
def test_sentence_map_by_umap():
    at = open_page("sentence_embeddings")
    at.radio(key="se_method").set_value("UMAP").run()
    assert not at.exception and "UMAP" in figure(at, 1).layout.title.text
    assert array(figure(at, 1).data[0].x).shape == (8,)


def test_sentence_embeddings_upload_without_a_sentence_column_lets_the_user_pick_one():
    at = open_page("sentence_embeddings")
    at.radio(key="se_source").set_value("Upload a file").run()
    data = b"id,words\n1,Cats purr loudly.\n2,Dogs bark at night.\n3,Birds sing at dawn.\n"
    at.file_uploader(key="se_upload").upload("cols.csv", data, "text/csv").run()
    assert not at.exception and "No 'sentence' or 'text' column in cols.csv" in texts(at.warning)
    assert at.selectbox(key="se_upload_column").value == "words"
    words = array(figure(at, 0).data[0].z)
    assert words.shape == (3, 3)
    at.selectbox(key="se_upload_column").set_value("id").run()
    assert not at.exception and not np.allclose(array(figure(at, 0).data[0].z), words)


@pytest.mark.parametrize("name, data, message", [
    ("bad.txt", b"\xff\xfe\x00b\x00a\x00d", "binary"),
    ("latin.txt", b"caf\xe9 au lait\nother line\n", "not UTF-8"),
    ("one.txt", b"only one sentence\n\n", "at least two"),
])
def test_sentence_embeddings_bad_uploads_get_clear_messages(name, data, message):
    at = open_page("sentence_embeddings")
    at.radio(key="se_source").set_value("Upload a file").run()
    at.file_uploader(key="se_upload").upload(name, data, "text/plain").run()
    assert not at.exception and message in texts(at.error)


# ------------------------------------------------------------------------------------------------
# In a real browser: screenshots of the three pages


@pytest.mark.browser
def test_screenshots_of_the_embeddings_pages(chromium, screenshots):
    page = chromium.new_page(viewport={"width": 1400, "height": 2600})
    with streamlit_server(PORT, timeout=240) as url:
        for path, title in [("word_in_context", "A word in context"), ("word_senses", "Word senses across layers"),
                            ("sentence_embeddings", "Sentence embeddings")]:
            page.goto(f"{url}/{path}", timeout=240_000)
            page.get_by_role("heading", name=title).wait_for(timeout=240_000)
            page.locator(".js-plotly-plot").first.wait_for(timeout=240_000)
            page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=240_000)
            page.wait_for_timeout(2000)
            assert page.locator("[data-testid='stException']").count() == 0
            page.screenshot(path=str(screenshots / f"{path}.png"), full_page=True)
    page.close()
    for name in ("word_in_context", "word_senses", "sentence_embeddings"):
        assert (screenshots / f"{name}.png").stat().st_size > 20_000
