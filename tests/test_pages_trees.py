"""The Trees from attention and Probes per layer pages: they show the analyses' own numbers, and answer bad
uploads (no heads, one-word sentences only) with a message, not a traceback."""
from __future__ import annotations

import numpy as np
import pytest

from app.conllu import read_conllu
from app.trees import decode_sentence, decode_treebank
from tests.test_pages_syntax import SAMPLE, chart_spec, open_page, texts, trace_values


def test_trees_page_shows_the_treebank_uuas_and_one_sentence(default_model):
    at = open_page("syntax_trees")
    assert not at.error and at.title[0].value == "Trees from attention"
    model, tokenizer = default_model
    treebank = read_conllu(SAMPLE.read_bytes())
    expected = decode_treebank(model, tokenizer, treebank).to_json()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Sentences analysed"] == "30"
    assert metrics[f"Best head {expected['best_head']}"].endswith("%")
    assert metrics["Right-branching"] == f"{expected['baselines']['right_branching']:.1%}"
    grid = chart_spec(at.get("plotly_chart")[0])
    np.testing.assert_allclose(trace_values(grid["data"][0], "z"), expected["heads"])
    # the sentence's decoded tree: the caption counts the gold edges found by the chosen head
    at.selectbox(key="st_layer").set_value(2)
    at.selectbox(key="st_head").set_value("mean")
    at.run()
    alone = decode_sentence(model, tokenizer, treebank.sentences[0]).uuas()[1, -1]
    assert f"(UUAS {alone:.1%})" in texts(at.caption)


@pytest.mark.parametrize(("data", "message"), [
    (b"1\tDogs\t_\t_\t_\t_\t_\t_\t_\t_\n2\tbark\t_\t_\t_\t_\t_\t_\t_\t_\n", "HEAD '_'"),   # no heads
    (b"1\tHello\t_\tINTJ\t_\t_\t0\troot\t_\t_\n\n1\tYes\t_\tINTJ\t_\t_\t0\troot\t_\t_\n", "two words or more"),
])
def test_trees_page_bad_uploads_get_a_message(data, message):
    at = open_page("syntax_trees", st_source="Upload a CoNLL-U file")
    at.file_uploader(key="st_upload").upload("bad.conllu", data, "text/plain").run()
    assert not at.exception
    assert message in (texts(at.error) + texts(at.warning)).replace("\\", "")  # as shown: Markdown escapes removed


def test_probes_page_trains_on_the_sample_and_plots_every_layer():
    at = open_page("syntax_probes")
    assert "Switch **Train the probes** on" in texts(at.info)
    at.select_slider(key="sp_epochs").set_value(1)
    at.select_slider(key="sp_rank").set_value(8)
    at.toggle(key="sp_run").set_value(True)
    at.run()
    assert not at.exception and not at.error
    charts = [chart_spec(c) for c in at.get("plotly_chart")]
    assert [c["layout"]["title"]["text"] for c in charts] == [
        "Distance probe", "Depth probe", "UPOS: accuracy, control, selectivity",
        "relation label: accuracy, control, selectivity"]
    table = at.dataframe[0].value
    assert list(table["layer"]) == list(range(7))          # layers 0…6 of the default model
    np.testing.assert_allclose(trace_values(charts[0]["data"][0], "y"), table["UUAS"])
    assert "Trained on 15 sentences" in texts(at.caption)


def test_probes_page_refuses_a_training_file_of_one_word_sentences():
    at = open_page("syntax_probes", sp_source="Upload training and evaluation files")
    one_word = b"1\tHello\t_\tINTJ\t_\t_\t0\troot\t_\t_\n"
    at.file_uploader(key="sp_train").upload("train.conllu", one_word, "text/plain")
    at.file_uploader(key="sp_eval").upload("dev.conllu", SAMPLE.read_bytes(), "text/plain").run()
    at.toggle(key="sp_run").set_value(True)
    at.run()
    assert not at.exception
    assert "training file has no sentence of two words" in texts(at.error)


def test_a_skipped_sentences_text_is_shown_as_typed():
    """A problem's message quotes the file ("ID '[x](y)'"): the warning escapes it, so no link appears."""
    data = (b"1\tDogs\t_\tNOUN\t_\t_\t2\tnsubj\t_\t_\n2\tbark\t_\tVERB\t_\t_\t0\troot\t_\t_\n\n"
            b"[x](y)\tHi\t_\tINTJ\t_\t_\t0\troot\t_\t_\n")
    at = open_page("syntax_trees", st_source="Upload a CoNLL-U file")
    at.file_uploader(key="st_upload").upload("bad.conllu", data, "text/plain").run()
    assert not at.exception and not at.error
    warning = at.warning[0].value
    assert "1 sentence(s) of bad.conllu skipped" in warning and r"ID '\[x\](y)'" in warning
