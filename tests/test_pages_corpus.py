"""The Search a corpus page on the real default model and the built-in sample: the CLI's results, filters,
the occurrence map, an upload, and clear messages for an index it cannot use."""
from __future__ import annotations

import json
import shutil

import plotly.io
import pytest
from streamlit.testing.v1 import AppTest

from app import corpus_index, polysemy, services
from app.__main__ import main
from tests.conftest import ROOT
from tests.corpus_helpers import CONLLU, corpus_folder, tiny_checkpoint

SAMPLE = ROOT / "data" / "senses_example.tsv"


@pytest.fixture(autouse=True)
def index_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.getbasetemp() / "corpus_indexes"
    monkeypatch.setenv("BERT_EXPLORER_INDEX_DIR", str(home))
    return home


def open_page(**query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=300)
    at.query_params.update(query)
    at.run()
    at.switch_page("app/pages/corpus_search.py")
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def test_the_page_shows_the_cli_results_for_the_built_in_sample(tmp_path):
    at = open_page()
    assert not at.error, texts(at.error)
    assert at.metric[0].value == "262" and at.selectbox(key="cs_layer").value == 6
    shown = at.dataframe[0].value
    # the same search from the command line, on the index the page built
    folders = list(services.index_home().iterdir())
    assert len(folders) == 1
    out = tmp_path / "r.json"
    assert main(["search", "--index", str(folders[0]), "--text", "I love my pet Python", "--word", "Python",
                 "--layer", "6", "--json", str(out)]) == 0
    expected = json.loads(out.read_text())["results"]
    assert list(shown["sentence_id"]) == [r["sentence_id"] for r in expected]
    assert list(shown["word_index"]) == [r["word_index"] for r in expected]
    assert list(shown["similarity"]) == [r["similarity"] for r in expected]
    assert list(shown["word"]) == [r["word"] for r in expected]
    assert "neighbours are “Python” itself" in texts(at.markdown)
    # the map: one point per occurrence of "python" in the sample, counted here from the file itself
    sentences = [line.split("\t")[2] for line in SAMPLE.read_text(encoding="utf-8").splitlines()[1:]]
    count = sum(len(polysemy.find_occurrences(s, "python")) for s in sentences)
    figure = plotly.io.from_json(at.get("plotly_chart")[0].proto.spec)
    assert {t.type for t in figure.data} == {"scattergl"}
    assert sum(len(t.customdata) for t in figure.data) == count > 10


def test_filters_keep_the_same_word_or_the_others():
    at = open_page()
    at.radio(key="cs_filter").set_value("other words only").run()
    others = at.dataframe[0].value
    assert len(others) == 10 and "python" not in {w.lower() for w in others["word"]}
    at.radio(key="cs_filter").set_value("same word only").run()
    assert {w.lower() for w in at.dataframe[0].value["word"]} == {"python"}


def test_an_uploaded_treebank_offers_its_tags(tmp_path):
    at = open_page()
    at.radio(key="cs_source").set_value("Upload a corpus").run()
    at.file_uploader(key="cs_upload").upload("t.conllu", CONLLU.encode(), "text/plain").run()
    assert not at.exception and not at.error, texts(at.error)
    assert at.multiselect(key="cs_upos").options == ["ADP", "DET", "NOUN", "PUNCT", "VERB"]
    at.multiselect(key="cs_upos").set_value(["NOUN"]).run()
    assert set(at.dataframe[0].value["UPOS"]) == {"NOUN"}
    at.file_uploader(key="cs_upload").upload("empty.txt", b"\n \n", "text/plain").run()
    assert "cannot be indexed" in texts(at.error) and "no sentence to index" in texts(at.error)


def test_an_index_of_another_model_or_a_damaged_one_is_refused_with_a_message(tmp_path):
    from app.corpus import read_corpus
    from bert_core import load_pretrained

    model_folder = tiny_checkpoint(tmp_path / "tiny")
    model, tokenizer = load_pretrained(model_folder, device="cpu")
    folder = tmp_path / "idx"
    corpus_index.build_index(read_corpus(corpus_folder(tmp_path / "c")), folder, model=model, tokenizer=tokenizer,
                             model_name=str(model_folder), layers=[0, 2])
    at = open_page()
    at.radio(key="cs_source").set_value("Open an index folder").run()
    at.text_input(key="cs_folder").set_value(str(folder)).run()
    assert "built with" in texts(at.error) and not at.dataframe
    shutil.rmtree(folder / "words.lance")
    at.text_input(key="cs_folder").set_value(str(folder) + "/").run()
    assert "no words.lance table" in texts(at.error)
