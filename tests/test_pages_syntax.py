"""The Syntax pages on the real default model: they render the probe's own numbers and answer bad
input (malformed CoNLL-U, unparsable text) with messages that carry line numbers. In Chromium:
screenshots for the README."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from app.conllu import read_conllu
from app.syntax import analyse_sentence, load_parser, parse_text, probe
from tests.browser import is_local, streamlit_server
from tests.conftest import ROOT

PORT = 8514
SAMPLE = ROOT / "data" / "syntax_sample.conllu"


def open_page(page: str, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=240)
    at.query_params.update(query)
    at.run()
    at.switch_page(f"app/pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def row(i, form, head, deprel):
    return f"{i}\t{form}\t_\t_\t_\t_\t{head}\t{deprel}\t_\t_"


def test_sentence_page_shows_the_heads_right_for_each_relation(default_model):
    sentence = "The old man fixed the broken chair in his garage."
    at = open_page("syntax_sentence", a=sentence, b="")
    assert not at.error and at.title[0].value == "Syntactic heads: one sentence"
    model, tokenizer = default_model
    expected = analyse_sentence(model, tokenizer, parse_text(load_parser(), sentence)[0]).result
    table = at.dataframe[0].value
    right = expected.heads_always_right(0)
    assert list(table["relation"]) == list(expected.relation_table(0))
    for relation, heads in zip(table["relation"], table["dependent → head: heads right on all"], strict=True):
        assert heads == (", ".join(right[relation]) or "none")
    best = expected.relation_table(0)["all"]["best_head"]  # the page opens on the sentence's best head
    assert f"{at.selectbox(key='ss_layer').value}-{at.selectbox(key='ss_head').value}" == best
    at.selectbox(key="ss_layer").set_value(2).run()
    at.selectbox(key="ss_head").set_value(7).run()
    at.radio(key="ss_direction").set_value("head → dependent").run()
    assert not at.exception and at.subheader[0].value == "Layer 2, head 7"


def test_sentence_page_explains_what_it_cannot_analyse():
    at = open_page("syntax_sentence", a="!!! ...", b="")
    assert "No word in this sentence is scored" in texts(at.warning)


def test_sentence_page_takes_emoji_and_control_characters():
    at = open_page("syntax_sentence", a="I \u2764\ufe0f my cat \U0001F408 \x07 so much", b="")
    assert not at.error and len(at.dataframe) == 1


def test_sentence_page_over_the_piece_limit():
    at = open_page("syntax_sentence", a=" ".join(["antidisestablishmentarianism"] * 120), b="")
    assert "over 510 word pieces" in texts(at.error)


def test_corpus_page_shows_the_cli_numbers_for_the_sample(default_model, tmp_path):
    at = open_page("syntax_corpus")
    assert not at.error and not at.warning
    assert [m.value for m in at.metric][:2] == ["30", "0"]
    from app.__main__ import main

    out = tmp_path / "sample.json"
    assert main(["probe", "--conllu", str(SAMPLE), "--json", str(out)]) == 0
    cli = json.loads(out.read_text())
    table = at.dataframe[0].value
    for _, line in table.iterrows():
        expected = cli["relations"][line["relation"]]
        assert line["best head"] == expected["best_head"] and line["count"] == expected["count"]
        assert line["accuracy"] == expected["accuracy"]
        assert line["baseline accuracy"] == expected["baseline_accuracy"]
    at.radio(key="sc_direction").set_value("head → dependent").run()
    flipped = at.dataframe[0].value
    assert list(flipped["best head"]) == [s["best_head"] for s in cli["head_to_dependent"]["relations"].values()]
    at.selectbox(key="sc_relation").set_value("det").run()
    assert not at.exception and len(at.get("plotly_chart")) == 1
    # The grid numbers heads from 1 like the table: the best head "L-H" is outlined at layer L, head H.
    layer, head = (int(x) for x in cli["head_to_dependent"]["relations"]["det"]["best_head"].split("-"))
    outline = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["shapes"][0]
    assert (outline["y0"] + 0.5, outline["x0"] + 0.5) == (layer, head)


@pytest.mark.parametrize("data, messages", [
    (b"", ["cannot be read: the file is empty"]),
    (b"\x89PNG\r\n\x1a\n\x00\x00", ["No sentence of bad.conllu could be analysed", "line 1: not UTF-8"]),
    (b"\n".join([row(1, "a", 2, "dep").encode(), row(2, "b", 1, "dep").encode(), b"",
                 row(1, "Dogs", 2, "nsubj").encode(), row(2, "bark", 0, "root").encode(), b"",
                 row(1, "x", 7, "dep").encode(), b"", row(1, "caf\xe9", 0, "root").encode("latin-1"), b"",
                 b"1\tonly\tthree", b""]),
     ["4 sentence(s) of bad.conllu skipped", "line 1: cycle", "line 7: HEAD 7 is outside",
      "line 9: not UTF-8", "line 11: expected 10 tab-separated columns, found 3"]),
])
def test_corpus_page_malformed_uploads_get_line_numbers(data, messages):
    at = open_page("syntax_corpus")
    at.radio(key="sc_source").set_value("Upload a CoNLL-U file").run()
    at.file_uploader(key="sc_upload").upload("bad.conllu", data, "text/plain").run()
    assert not at.exception
    shown = texts(at.error) + texts(at.warning) + " ".join(str(t.value) for t in at.text)
    for message in messages:
        assert message in shown, shown
    if b"Dogs" in data:  # the one valid sentence is still analysed
        assert at.metric[0].value == "1" and at.dataframe[0].value["relation"].tolist() == ["all", "nsubj"]


def test_corpus_page_raw_text_is_parsed_by_spacy(default_model):
    at = open_page("syntax_corpus")
    at.radio(key="sc_source").set_value("Raw text, one sentence per line (spaCy silver parses)").run()
    lines = "Dogs bark at night.\n\nMy sister reads a new book every week.\n"
    at.text_area(key="sc_text").set_value(lines)
    next(b for b in at.button if b.label == "Parse and probe").click().run()
    assert not at.exception and not at.error
    assert at.metric[0].value == "2" and "silver" in texts(at.caption)
    model, tokenizer = default_model
    expected = probe(model, tokenizer, read_conllu(_as_conllu(lines)))
    assert at.dataframe[0].value["count"].tolist() == [s["count"] for s in expected.relation_table(0).values()]


def _as_conllu(lines: str) -> str:
    """spaCy's parse of each line, written as CoNLL-U (what the page should have analysed)."""
    nlp, blocks = load_parser(), []
    for line in filter(str.strip, lines.splitlines()):
        for sentence in parse_text(nlp, line):
            blocks.append("\n".join(row(i + 1, w, h, r) for i, (w, h, r) in
                                    enumerate(zip(sentence.words, sentence.heads, sentence.deprels, strict=True))))
    return "\n\n".join(blocks) + "\n"


@pytest.mark.browser
def test_syntax_pages_in_chromium(chromium, screenshots):
    requests: list[str] = []
    with streamlit_server(PORT) as url:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda request: requests.append(request.url))
        for name, query in (("syntax_sentence", "?a=The+old+man+fixed+the+broken+chair+in+his+garage.&b="),
                            ("syntax_corpus", "")):
            page.goto(f"{url}/{name}{query}", wait_until="domcontentloaded")
            page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=180_000)
            page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=120_000)
            height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
            page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 5000)})
            page.wait_for_timeout(2500)
            page.screenshot(path=str(screenshots / f"{name}.png"))
            page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(f"{url}/syntax_sentence?a=Dogs+bark+loudly.&b=", wait_until="domcontentloaded")
        frame = page.frame_locator("iframe[title='ss_arcs: dependency arcs']")
        frame.locator("svg text", has_text="loudly").wait_for(timeout=180_000)
        assert frame.locator("svg path").count() >= 4   # tree arcs and guesses, each with its arrow
    assert requests and all(is_local(r) for r in requests), [r for r in requests if not is_local(r)]
