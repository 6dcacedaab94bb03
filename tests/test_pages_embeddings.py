"""The Embeddings pages on the real default model: they render, react, and answer bad input with messages."""
from __future__ import annotations

import base64
import json
import uuid

import numpy as np
import plotly.io
import pytest
from streamlit.testing.v1 import AppTest

from app import polysemy
from app.__main__ import main
from bert_core import BertModel
from components.projection import OKABE_ITO
from tests.conftest import ROOT
from tests.links import reopen, shared_link


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
    assert at.slider(key="layer").value == 6


def test_word_in_context_says_which_sentences_lack_the_word_and_asks_which_occurrence():
    at = open_page("word_in_context")
    at.text_input(key="word").set_value("bank")
    at.text_area(key="sentences").set_value("The bank by the bank.\nNo such word.\nThe bank raised rates.")
    at.button[0].click().run()
    assert not at.exception
    assert "Sentence 2 does not contain “bank”" in texts(at.warning)
    choice = at.radio(key="occ1")
    before = at.dataframe[1].value.iloc[0, 2]
    choice.set_value(1).run()
    assert not at.exception and at.dataframe[1].value.iloc[0, 2] != before


def test_word_in_context_cleans_the_word_field_and_shows_typed_markdown_as_text():
    at = open_page("word_in_context")
    at.text_input(key="word").set_value("py\u200bthon")               # a zero-width space pasted inside
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert "Word: removed 1 invisible" in texts(at.warning)
    assert list(at.dataframe[0].value["word pieces"]) == ["python"] * 4   # the preset's four sentences compared
    at.text_input(key="word").set_value("[bank](http://example.invalid)")
    at.text_area(key="sentences").set_value("The bank is open.\nThe river bank.")
    at.button[0].click().run()
    assert not at.exception
    shown = texts(at.warning) + texts(at.error)
    assert "\\[bank\\](http://example.invalid)" in shown and "“[bank](" not in shown


def test_word_in_context_moving_the_layer_slider_does_not_run_the_model_again(monkeypatch):
    forward = BertModel.forward
    runs = []

    def counted_forward(self, *args, **kwargs):
        runs.append(1)
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(BertModel, "forward", counted_forward)
    at = open_page("word_in_context")
    at.text_area(key="sentences").set_value("My pet Python sleeps.\nI code in Python.\nPython is a snake.")
    at.button[0].click().run()
    assert not at.exception and runs, "a new sentence list must run the model (else this test counts nothing)"
    before, nearest = len(runs), at.dataframe[1].value
    at.slider(key="layer").set_value(0).run()
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
    at.text_input(key="word").set_value(word)
    at.text_area(key="sentences").set_value(text)
    at.button[0].click().run()
    assert not at.exception
    assert message in texts(at.error) + texts(at.warning)


def test_word_in_context_reads_emoji_control_characters_and_a_long_line():
    at = open_page("word_in_context")
    at.text_area(key="sentences").set_value("🐍 my pet Python\x00 sleeps\n" + "Python " * 2000)
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 2 and len(at.dataframe[0].value) == 2


def test_word_in_context_opens_a_shared_link_with_word_sentences_occurrence_and_layer():
    sentences = "The bank by the bank.\nThe bank raised rates.\nWe sat on the river bank."
    link = {"preset": "(your own)", "word": "bank", "sentences": sentences, "occ1": "2", "layer": "2"}
    at = reopen(link, "app/pages/word_in_context.py")
    assert not at.exception and not at.error
    assert (at.text_input(key="word").value, at.text_area(key="sentences").value) == ("bank", sentences)
    assert at.selectbox(key="preset").value == "(your own)" and at.slider(key="layer").value == 2
    assert at.radio(key="occ1").value == 1 and "by the **bank**" in " ".join(at.radio(key="occ1").proto.captions[1:])
    assert figure(at, 0).layout.title.text == "Cosine similarity of “bank” at layer 2"
    assert at.subheader[0].value == "Nearest vocabulary tokens at layer 2"
    first = reopen({**link, "occ1": "1"}, "app/pages/word_in_context.py")   # the other occurrence: other numbers
    assert first.radio(key="occ1").value == 0
    assert not np.allclose(array(figure(first, 0).data[0].z), array(figure(at, 0).data[0].z))
    odd = reopen({"word": "bank", "sentences": sentences, "occ1": "5", "layer": "99"}, "app/pages/word_in_context.py")
    assert not odd.exception and not odd.error                          # values that do not fit fall back
    assert odd.radio(key="occ1").value == 0 and odd.slider(key="layer").value == 6


def test_word_in_context_choices_go_into_the_link_and_reopen_the_same_view():
    at = open_page("word_in_context")
    assert "word" not in shared_link(at) and "layer" not in shared_link(at)   # defaults stay out of the link
    at.selectbox(key="preset").set_value("bank").run()
    at.slider(key="layer").set_value(3).run()
    link = shared_link(at)
    assert (link["preset"], link["word"], link["layer"]) == ("bank", "bank", "3")
    assert link["sentences"].splitlines() == polysemy.PRESETS["bank"]
    again = reopen(link, "app/pages/word_in_context.py")
    assert again.slider(key="layer").value == 3 and again.text_input(key="word").value == "bank"
    np.testing.assert_allclose(array(figure(again, 0).data[0].z), array(figure(at, 0).data[0].z))


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
    assert len(at.get("plotly_chart")) == 4   # accuracy against layer, word × layer heatmap, projection, within/between


def test_word_senses_projects_a_chosen_word_in_3d():
    at = open_page("word_senses")
    at.selectbox(key="word").set_value("bank")
    at.radio(key="dims").set_value("3-D").run()
    assert not at.exception
    projection = figure(at, 2)
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
    at.radio(key="source").set_value("Upload a table").run()
    at.file_uploader(key="ws_upload").upload(name, data, "text/plain").run()
    assert not at.exception
    assert message in texts(getattr(at, level))
    if name == "one.csv":   # the non-UTF-8 row is listed, the rest analysed
        assert at.metric[0].value == "4" and list(at.dataframe[0].value["line"]) == [6]


def test_word_senses_accuracy_heatmap_has_every_word_and_layer_with_the_tables_numbers():
    at = open_page("word_senses")
    heatmap = figure(at, 1).data[0]
    scores = at.dataframe[0].value                                   # the table, now in an expander
    assert heatmap.type == "heatmap" and list(heatmap.y) == list(scores["word"])
    assert list(heatmap.x) == [str(layer) for layer in range(7)]     # layers 0…L
    z = array(heatmap.z)
    np.testing.assert_allclose(z, scores.drop(columns="word").to_numpy(dtype=float), atol=5e-4)
    assert (heatmap.zmin, heatmap.zmax) == (0, 1) and "accuracy %{z:.3f}" in heatmap.hovertemplate
    assert heatmap.texttemplate == "%{text:.2f}" and array(heatmap.text).shape == z.shape
    assert "Accuracy table (CSV)" in [b.label for b in at.get("download_button")]


def test_word_senses_projection_colours_come_from_the_okabe_ito_palette():
    published = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}
    assert set(OKABE_ITO) == published and len(OKABE_ITO) == 8
    at = reopen({"word": "spring"}, "app/pages/word_senses.py")          # spring: 3 senses
    colours = [trace.marker.color for trace in figure(at, 2).data]
    assert len(colours) == 3 and len(set(colours)) == 3 and set(colours) <= published


def test_word_senses_opens_a_shared_link_with_words_word_layer_and_projection():
    link = {"words": ["bank", "bat"], "word": "bank", "layer": "2", "dims": "3-D"}
    at = reopen(link, "app/pages/word_senses.py")
    assert not at.exception and not at.error
    assert at.multiselect(key="words").value == ["bank", "bat"]
    assert (at.selectbox(key="word").value, at.slider(key="layer").value, at.radio(key="dims").value) == (
        "bank", 2, "3-D")
    assert [trace.name for trace in figure(at, 0).data][:3] == ["all words", "bank", "bat"]
    projection = figure(at, 2)
    assert projection.layout.title.text.startswith("“bank” at layer 2, PCA")
    assert {trace.type for trace in projection.data} == {"scatter3d"}
    odd = reopen({"word": "zebra", "layer": "99", "words": ["zebra"]}, "app/pages/word_senses.py")
    assert not odd.exception and not odd.error                          # not in the table: the defaults
    assert odd.selectbox(key="word").value == "python" and odd.slider(key="layer").value == 6
    assert odd.multiselect(key="words").value == odd.multiselect(key="words").options[:6]


def test_word_senses_choices_go_into_the_link_and_reopen_the_same_view():
    at = open_page("word_senses")
    at.selectbox(key="word").set_value("crane").run()
    at.slider(key="layer").set_value(1).run()
    at.multiselect(key="words").set_value(["crane"]).run()
    link = shared_link(at)
    assert (link["word"], link["layer"], link["words"]) == ("crane", "1", ["crane"])
    assert "projection" not in link and "source" not in link
    again = reopen(link, "app/pages/word_senses.py")
    assert figure(again, 2).layout.title.text == figure(at, 2).layout.title.text
    np.testing.assert_allclose(array(figure(again, 2).data[0].x), array(figure(at, 2).data[0].x))


def test_word_senses_link_to_an_upload_says_so_and_applies_once_the_table_is_uploaded():
    at = reopen({"source": "Upload a table", "word": "bank", "layer": "2"}, "app/pages/word_senses.py")
    assert "cannot travel in a link" in texts(at.caption) and "Upload a table" in texts(at.info)
    at.file_uploader(key="ws_upload").upload("mine.tsv", (ROOT / "data" / "senses_example.tsv").read_bytes(),
                                             "text/plain").run()
    assert not at.exception
    assert (at.selectbox(key="word").value, at.slider(key="layer").value) == ("bank", 2)


def test_word_senses_reads_a_semicolon_separated_upload_as_the_sidebar_does():
    data = (b"word;sense;sentence\nbank;money;I paid at the bank, then left.\nbank;money;The bank closed.\n"
            b"bank;river;We sat on the bank.\nbank;river;The river bank flooded.\n")
    at = open_page("word_senses")
    at.radio(key="source").set_value("Upload a table").run()
    at.file_uploader(key="ws_upload").upload("semicolons.csv", data, "text/csv").run()
    assert not at.exception and not at.error
    assert at.metric[0].value == "4" and at.metric[1].value == "1"      # 4 occurrences of 1 word, none skipped
    assert at.metric[2].value == "0"


# ------------------------------------------------------------------------------------------------
# Sentence embeddings


def test_sentence_embeddings_page_pools_and_maps():
    at = open_page("sentence_embeddings")
    assert at.title[0].value == "Sentence embeddings" and not at.error
    heatmap = array(figure(at, 0).data[0].z)
    assert heatmap.shape == (8, 8) and heatmap[0, 1] != heatmap[0, 2]
    at.radio(key="pooling").set_value("cls").run()
    assert not at.exception and array(figure(at, 0).data[0].z)[0, 1] != heatmap[0, 1]


def test_umap_of_fewer_than_five_sentences_falls_back_to_pca():
    at = open_page("sentence_embeddings")
    at.text_area(key="sentences").set_value("One cat.\nTwo dogs.\nThree birds.")
    at.button[0].click()
    at.radio(key="map").set_value("UMAP").run()
    assert not at.exception and "UMAP needs at least 5 points" in texts(at.info)
    assert "PCA" in figure(at, 1).layout.title.text


@pytest.mark.slow  # the first UMAP in a process compiles numba code (about a minute on 2 cores)
def test_sentence_map_by_umap():
    at = open_page("sentence_embeddings")
    at.radio(key="map").set_value("UMAP").run()
    assert not at.exception and "UMAP" in figure(at, 1).layout.title.text
    assert array(figure(at, 1).data[0].x).shape == (8,)


def test_sentence_embeddings_upload_without_a_sentence_column_lets_the_user_pick_one():
    at = open_page("sentence_embeddings")
    at.radio(key="source").set_value("Upload a file").run()
    data = b"id,words\n1,Cats purr loudly.\n2,Dogs bark at night.\n3,Birds sing at dawn.\n"
    at.file_uploader(key="se_upload").upload("cols.csv", data, "text/csv").run()
    assert not at.exception and "No 'sentence' or 'text' column in cols.csv" in texts(at.warning)
    assert at.selectbox(key="se_upload_column").value == "words"
    words = array(figure(at, 0).data[0].z)
    assert words.shape == (3, 3)
    at.selectbox(key="se_upload_column").set_value("id").run()
    assert not at.exception and not np.allclose(array(figure(at, 0).data[0].z), words)


def test_sentence_embeddings_reads_an_upload_once_across_reruns(monkeypatch):
    from app import inputs

    calls = []
    real = inputs.sentences_from_upload
    monkeypatch.setattr(inputs, "sentences_from_upload", lambda *args: calls.append(args[0]) or real(*args))
    at = open_page("sentence_embeddings")
    at.radio(key="source").set_value("Upload a file").run()
    marker = uuid.uuid4().hex                         # a file no earlier test cached
    data = f"Cats purr {marker}.\nDogs bark.\nBirds sing.\n".encode()
    at.file_uploader(key="se_upload").upload("once.txt", data, "text/plain").run()
    at.slider(key="layer").set_value(2).run()
    at.radio(key="pooling").set_value("max").run()
    assert not at.exception and calls == ["once.txt"]


@pytest.mark.parametrize("name, data, message", [
    ("bad.txt", b"\xff\xfe\x00b\x00a\x00d", "UTF-16"),     # one reading of every upload: as Word senses says it
    ("cat.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("one.txt", b"only one sentence\n\n", "at least two"),
])
def test_sentence_embeddings_bad_uploads_get_clear_messages(name, data, message):
    at = open_page("sentence_embeddings")
    at.radio(key="source").set_value("Upload a file").run()
    at.file_uploader(key="se_upload").upload(name, data, "text/plain").run()
    assert not at.exception and message in texts(at.error)


def test_sentence_embeddings_open_a_shared_link_and_their_choices_go_into_it():
    sentences = "One cat.\nTwo dogs.\nThree birds.\nFour fish."
    at = reopen({"sentences": sentences, "pooling": "cls", "layer": "2", "map": "UMAP"},
                "app/pages/sentence_embeddings.py")
    assert not at.exception and not at.error
    assert (at.text_area(key="sentences").value, at.radio(key="pooling").value) == (sentences, "cls")
    assert at.slider(key="layer").value == 2 and at.radio(key="map").value == "UMAP"
    assert figure(at, 0).layout.title.text == "Cosine similarity, [CLS] vector, layer 2"
    assert array(figure(at, 0).data[0].z).shape == (4, 4)
    assert "UMAP needs at least 5 points" in texts(at.info)           # the link asked for UMAP
    at.radio(key="pooling").set_value("max").run()
    at.slider(key="layer").set_value(5).run()
    link = shared_link(at)
    assert (link["pooling"], link["layer"], link["map"], link["sentences"]) == ("max", "5", "UMAP", sentences)
    again = reopen(link, "app/pages/sentence_embeddings.py")
    np.testing.assert_allclose(array(figure(again, 0).data[0].z), array(figure(at, 0).data[0].z))


def test_sentence_embeddings_link_to_an_upload_says_so_and_applies_once_a_file_is_uploaded():
    at = reopen({"source": "Upload a file", "pooling": "max", "layer": "3"}, "app/pages/sentence_embeddings.py")
    assert "cannot travel in a link" in texts(at.caption) and "Upload a file of sentences" in texts(at.info)
    at.file_uploader(key="se_upload").upload("mine.txt", b"Cats purr.\nDogs bark.\nBirds sing.\n", "text/plain").run()
    assert not at.exception and (at.radio(key="pooling").value, at.slider(key="layer").value) == ("max", 3)
    assert figure(at, 0).layout.title.text == "Cosine similarity, max over all tokens, layer 3"
