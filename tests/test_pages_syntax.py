"""The Syntax pages on the real default model: they render the probe's own numbers (tables, a grid per
relation, bars per relation), reopen the view a link describes, and answer bad input (malformed CoNLL-U,
unparsable text, link values that do not fit) with messages that carry line numbers, or quietly. In
Chromium: a grid click and the direction go into the URL, the link reopens the view in a new browser,
and screenshots for the README."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlencode, urlparse

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.conllu import read_conllu
from app.syntax import analyse_sentence, load_parser, parse_text, probe
from bench.browser import is_local, streamlit_server
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


def chart_spec(chart) -> dict:
    return json.loads(chart.proto.spec)


def trace_values(trace: dict, axis: str) -> np.ndarray:
    """A plotly trace's x, y or z, whether written as a list or as a typed array (dtype + base64)."""
    value = trace[axis]
    if isinstance(value, dict):
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = [int(n) for n in str(value.get("shape", len(array))).split(",")]  # e.g. "6, 12"
        return array.reshape(shape)
    return np.array(value, dtype=float)


def test_sentence_page_draws_a_grid_per_relation(default_model):
    sentence = "The old man fixed the broken chair in his garage."
    at = open_page("syntax_sentence", a=sentence, b="")
    assert not at.error and at.title[0].value == "Syntactic heads: one sentence"
    model, tokenizer = default_model
    expected = analyse_sentence(model, tokenizer, parse_text(load_parser(), sentence)[0]).result
    best = expected.relation_table(0)["all"]["best_head"]  # the page opens on the sentence's best head
    layer, head = at.selectbox(key="ss_layer").value, at.selectbox(key="ss_head").value
    assert f"{layer}-{head}" == best
    # one L×H grid per relation of the sentence, in the table's order, each cell the head's accuracy there
    relations = list(expected.relation_table(0))
    grids = [chart_spec(c) for c in at.get("plotly_chart")]
    assert len(grids) == len(relations)
    accuracy, always = expected.head_accuracy(0), expected.heads_always_right(0)
    for relation, grid in zip(relations, grids, strict=True):
        assert grid["layout"]["title"]["text"].startswith(f"{relation}: ")
        assert f"{len(always[relation])} head" in grid["layout"]["title"]["text"]
        np.testing.assert_allclose(trace_values(grid["data"][0], "z"), accuracy[relation])
        outline = grid["layout"]["shapes"][0]             # the head drawn in the arcs is outlined
        assert (outline["y0"] + 0.5, outline["x0"] + 0.5) == (layer, head)
    # the table's numbers are still there, in an expander, with the CSV download
    table = at.expander[0].dataframe[0].value
    assert list(table["relation"]) == relations
    for relation, heads in zip(table["relation"], table["dependent → head: heads right on all"], strict=True):
        assert heads == (", ".join(always[relation]) or "none")
    assert [b.proto.label for b in at.get("download_button")] == ["Arcs (SVG)", "Table (CSV)"]
    [png] = at.get("html")                              # the PNG button, drawn in the browser (test_browser_png)
    assert "Arcs (PNG)" in png.proto.body and f"arcs_layer{layer}_head{head}.png" in png.proto.body
    # the other direction redraws the grids with its numbers
    at.radio(key="ss_direction").set_value("head → dependent").run()
    flipped = [chart_spec(c) for c in at.get("plotly_chart")]
    for relation, grid in zip(relations, flipped, strict=True):
        np.testing.assert_allclose(trace_values(grid["data"][0], "z"), expected.head_accuracy(1)[relation])


def test_sentence_page_link_reopens_the_view():
    sentence = "The old man fixed the broken chair in his garage."
    at = open_page("syntax_sentence", a=sentence, b="", ss_layer="3", ss_head="11", ss_direction="head → dependent")
    assert not at.exception and at.subheader[0].value == "Layer 3, head 11"
    assert at.radio(key="ss_direction").value == "head → dependent"
    assert "(head → dependent)" in at.subheader[1].value
    outline = chart_spec(at.get("plotly_chart")[0])["layout"]["shapes"][0]
    assert (outline["y0"] + 0.5, outline["x0"] + 0.5) == (3, 11)
    # the page's own widgets drive the view; the browser writes them into the URL (tested in Chromium below)
    at.selectbox(key="ss_head").set_value(2).run()
    assert at.subheader[0].value == "Layer 3, head 2"


@pytest.mark.parametrize("query", [
    {"ss_layer": "99", "ss_head": "0", "ss_direction": "sideways"},
    {"ss_layer": "two", "ss_head": "-3", "ss_direction": ""},
])
def test_sentence_page_bad_link_values_fall_back_quietly(query):
    sentence = "The old man fixed the broken chair in his garage."
    plain = open_page("syntax_sentence", a=sentence, b="")
    at = open_page("syntax_sentence", a=sentence, b="", **query)
    assert not at.exception and not at.error and not at.warning
    assert at.subheader[0].value == plain.subheader[0].value          # the sentence's best head
    assert at.radio(key="ss_direction").value == "dependent → head"
    assert not set(query) & set(at.query_params)                      # and the bad values leave the URL


def test_sentence_page_explains_what_it_cannot_analyse():
    at = open_page("syntax_sentence", a="!!! ...", b="")
    assert "No word in this sentence is scored" in texts(at.warning)


def test_sentence_page_takes_emoji_and_control_characters():
    at = open_page("syntax_sentence", a="I \u2764\ufe0f my cat \U0001F408 \x07 so much", b="")
    assert not at.error and len(at.dataframe) == 1 and len(at.get("plotly_chart")) >= 1


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
    assert not at.exception and len(at.get("plotly_chart")) == 2    # the bars per relation, the relation's grid
    # The grid numbers heads from 1 like the table: the best head "L-H" is outlined at layer L, head H.
    layer, head = (int(x) for x in cli["head_to_dependent"]["relations"]["det"]["best_head"].split("-"))
    outline = json.loads(at.get("plotly_chart")[1].proto.spec)["layout"]["shapes"][0]
    assert (outline["y0"] + 0.5, outline["x0"] + 0.5) == (layer, head)


@pytest.mark.parametrize("direction", [0, 1])
def test_corpus_page_chart_shows_the_table(direction):
    directions = ["dependent → head", "head → dependent"]
    at = open_page("syntax_corpus", sc_direction=directions[direction])
    assert at.radio(key="sc_direction").value == directions[direction]
    table = at.dataframe[0].value
    bars = chart_spec(at.get("plotly_chart")[0])["data"]
    assert [b["name"] for b in bars] == ["best head", "best offset baseline", "best head, held out"]
    for bar, column in zip(bars, ["accuracy", "baseline accuracy", "held-out accuracy"], strict=True):
        assert list(bar["x"]) == [f"{r} ({c:,})" for r, c in zip(table["relation"], table["count"], strict=True)]
        np.testing.assert_array_equal(trace_values(bar, "y"), table[column].to_numpy(dtype=float))
    assert list(table["count"]) == sorted(table["count"], reverse=True)    # most frequent first ("all" leads)


def test_corpus_page_link_reopens_the_view():
    at = open_page("syntax_corpus", sc_direction="head → dependent", sc_relation="amod")
    assert not at.exception and at.selectbox(key="sc_relation").value == "amod"
    grid = chart_spec(at.get("plotly_chart")[1])
    assert grid["layout"]["title"]["text"].startswith("amod (head → dependent")
    raw = open_page("syntax_corpus", sc_source="Raw text")
    assert raw.radio(key="sc_source").value == "Raw text" and raw.text_area(key="sc_text").value
    assert "not the text itself" in texts(raw.caption)
    upload = open_page("syntax_corpus", sc_source="Upload a CoNLL-U file")
    assert "not the file" in texts(upload.caption) and "Upload a CoNLL-U file" in texts(upload.info)
    # values that do not fit fall back quietly to the sample, dependent → head and the first relation
    bad = open_page("syntax_corpus", sc_source="ftp", sc_direction="up", sc_relation="nonsense")
    assert not bad.exception and not bad.error and not bad.warning
    assert (bad.radio(key="sc_source").value, bad.radio(key="sc_direction").value,
            bad.selectbox(key="sc_relation").value) == ("Built-in sample", "dependent → head", "all")


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
    at.radio(key="sc_source").set_value("Raw text").run()
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


LONG = "The old man who lives next door fixed the broken chair that his daughter had left in the garage last winter."

# Every label of the arcs, as the browser measures its text, against the white box drawn for it.
_LABELS_FIT = """() => {
    const svg = document.querySelector('iframe[title="ss_arcs: dependency arcs"]').contentDocument.querySelector('svg');
    return Array.from(svg.querySelectorAll('rect.label'), rect => {
        const label = rect.nextElementSibling, text = label.getBBox(), box = rect.getBBox();
        return {label: label.textContent, fits: text.x >= box.x && text.x + text.width <= box.x + box.width};
    });
}"""


def wait_until_idle(page) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=120_000)


def choose_direction(page, direction: str) -> None:
    page.get_by_test_id("stRadio").filter(has_text="Direction").get_by_text(direction).click()


def full_page_screenshot(page, path) -> None:
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 5000)})
    page.wait_for_timeout(2500)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1400, "height": 1000})


@pytest.mark.browser
def test_syntax_pages_in_chromium(chromium, screenshots):
    requests: list[str] = []
    with streamlit_server(PORT) as url:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"{url}/syntax_sentence?{urlencode({'a': LONG, 'b': ''})}", wait_until="domcontentloaded")
        frame = page.frame_locator("iframe[title='ss_arcs: dependency arcs']")
        frame.locator("svg text", has_text="winter").wait_for(timeout=180_000)
        wait_until_idle(page)
        labels = page.evaluate(_LABELS_FIT)
        assert len(labels) == len(LONG.split()) + 1 and "root" in [x["label"] for x in labels]  # words and "."
        assert all(x["fits"] for x in labels), labels   # Chromium's font fits the boxes the layout reserved
        full_page_screenshot(page, screenshots / "syntax_sentence.png")

        # a click on a grid's cell draws that head, and the URL keeps it; so does the direction
        point = page.locator(".js-plotly-plot").first.locator("g.points path.point").nth(3 * 12 + 8)  # layer 4, head 9
        point.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        box = point.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.get_by_role("heading", name="Layer 4, head 9").wait_for(timeout=60_000)
        choose_direction(page, "head → dependent")
        page.get_by_role("heading", name="Which heads are right, per relation (head → dependent)").wait_for(
            timeout=60_000)
        page.wait_for_function("() => location.search.includes('ss_direction')", timeout=30_000)
        query = parse_qs(urlparse(page.url).query)
        assert (query["ss_layer"], query["ss_head"], query["ss_direction"]) == (["4"], ["9"], ["head → dependent"])
        assert query["a"] == [LONG]

        # the link, opened in a new browser, reopens the same view
        fresh = chromium.new_context(viewport={"width": 1400, "height": 1000})
        other = fresh.new_page()
        other.goto(page.url, wait_until="domcontentloaded")
        other.get_by_role("heading", name="Layer 4, head 9").wait_for(timeout=180_000)
        other.get_by_role("heading", name="Which heads are right, per relation (head → dependent)").wait_for()
        fresh.close()

        page.goto(f"{url}/syntax_corpus", wait_until="domcontentloaded")
        page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=180_000)
        wait_until_idle(page)
        page.locator(".js-plotly-plot").nth(1).wait_for(timeout=60_000)   # the bars per relation, the relation's grid
        full_page_screenshot(page, screenshots / "syntax_corpus.png")
        choose_direction(page, "head → dependent")
        page.wait_for_function("() => location.search.includes('sc_direction')", timeout=30_000)
        assert parse_qs(urlparse(page.url).query)["sc_direction"] == ["head → dependent"]
    assert requests and all(is_local(r) for r in requests), [r for r in requests if not is_local(r)]
