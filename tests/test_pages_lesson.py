"""AppTest of lesson mode on the real default model: every step of the default lesson opens on its page
without an exception, with the lesson panel, the step's state in the page's widgets and the element it
highlights; the numbers the lesson quotes are the ones the pages show; PAGES matches the widgets the
pages bind; a teacher's malformed lesson gets the validator's messages on the Lesson page."""
from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from app import finetune, lessons, polysemy, sentence_embeddings
from app.inputs import escape_markdown
from app.lessons import DEFAULT_LESSON, LESSONS_DIR, PAGES, load_lesson
from app.vectors import cosine_matrix
from tests.conftest import ROOT
from tests.links import bound
from tests.pretraining_models import save_random_checkpoint

LESSON = load_lesson((LESSONS_DIR / f"{DEFAULT_LESSON}.toml").read_bytes())
LESSON_PAGE = "app/pages/lesson.py"


def texts(at: AppTest) -> str:
    """Every text the page shows outside the lesson panel's own callout: headings, paragraphs, captions,
    widget labels."""
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success")
             for e in at.get(kind)]
    parts += [w.label for kind in ("selectbox", "radio", "slider", "toggle", "multiselect", "button_group")
              for w in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def shown_text(value) -> str:
    """A bound widget's value as the URL carries it (a segmented control's one choice comes as a list)."""
    return str(value[0]) if isinstance(value, list) and len(value) == 1 else str(value)


def percent(text: str, before: str) -> int:
    """The percentage that follows `before` in the lesson's text."""
    return int(re.search(re.escape(before) + r"[^0-9]*([0-9]+)%", text)[1])


def check_numbers(number: int, at: AppTest, model) -> None:
    """The numbers a step quotes are those its page shows (the page computes them from the model)."""
    look = LESSON.steps[number - 1].look
    if number == 1:
        pieces = list(at.dataframe[0].value["piece"])
        assert pieces[1:3] == ["sin", "##an"] and len(pieces) == 8 and "8 pieces" in look
    elif number == 3:
        assert f"“cat” ({percent(look, 'goes to “cat”')}%)" in texts(at)
    elif number == 5:
        table = at.dataframe[0].value.set_index("relation")
        for relation in ("dobj", "det", "poss"):
            row = table.loc[relation]
            assert f"{row['best head']}" in look and f"{row['accuracy']:.0%}" in look, relation
            assert f"{row['baseline accuracy']:.0%}" in look, relation
    elif number == 6:
        assert re.search(r"10 of 12 scored words right", texts(at)) and "10 of the 12" in look
    elif number == 7:
        stats = dict(zip(at.dataframe[0].value["statistic"], at.dataframe[0].value["layer 5, head 6"], strict=True))
        assert f"{float(stats['Attention to [CLS]']):.0%}" == f"{percent(look, '5-6:')}%"
    elif number == 9:  # the simulator's draw for seed 0: the chosen pieces, each shown as [MASK]
        table = table_with(at, "what happened", "[MASK]")
        chosen = table[table["label"] != ""]
        pieces = sum(1 for piece in table["piece"] if piece not in ("[CLS]", "[SEP]"))
        assert f"{len(chosen)} of the {pieces} word pieces" in look
        assert list(chosen["model reads"]) == ["[MASK]", "[MASK]"]
        assert all(f"“{piece}”" in look for piece in chosen["piece"])
    elif number in (10, 11):  # the bundled model has no head: the page says what to load, as the step does
        head = {10: "masked-LM head", 11: "next-sentence"}[number]
        assert any(head in w.value and "bert-base-uncased" in w.value for w in at.warning)
        assert "bert-base-uncased" in look
    elif number in (12, 13):  # the page's comparison of the step's preset, layer 6
        word = LESSON.steps[number - 1].state["word"]
        sentences = polysemy.PRESETS[word]
        similarity = polysemy.compare_word(*model, word, sentences, [0] * len(sentences)).similarities[6]
        pairs = {12: [(0, 1), (0, 2)], 13: [(0, 2), (1, 3)]}[number]
        for i, j in pairs:
            assert f"{similarity[i, j]:.2f}" in look, (number, i, j, similarity[i, j])
    elif number == 14:  # head only: one linear layer from the 384-wide sentence vector to spam / ham
        labels = len(finetune.read_labelled(finetune.SPAM_DATA.read_bytes(), "spam", seed=0).label_names)
        width = model[0].config.hidden_size
        assert f"{width * labels + labels} of the model's {model[0].num_parameters() / 1e6:.1f} million" in look
        assert f"{width} × {labels} weights and {labels} biases" in look
    elif number == 15:
        family = table_with(at, "model", "bert-tiny").set_index("model")["parameters"]
        for name in ("bert-tiny", "bert-base", "bert-large"):
            assert f"{family[name] / 1e6:.1f} million" in look, name
        assert f"{family['all-MiniLM-L6-v2 (this model)'] / 1e6:.1f} million" in look
    elif number == 16:
        flavours = table_with(at, "model", "RoBERTa-base").set_index("model")
        for name in ("BERT-base", "RoBERTa-base", "DistilBERT", "ALBERT-base"):
            assert f"{name} {flavours.loc[name, 'parameters'] / 1e6:.1f} million" in look, name
        assert f"{flavours.loc['RoBERTa-base', 'vocabulary']:,}-piece vocabulary" in look
        assert f"{flavours.loc['ALBERT-base', 'distinct layer weights']} distinct layer's weights" in look
    elif number == 17:  # the page's example sentences, mean pooling, layer 6: the guitar and the music
        vectors = sentence_embeddings.sentence_embeddings(*model, list(sentence_embeddings.EXAMPLE_SENTENCES), "mean")
        assert f"{cosine_matrix(vectors[:, 6])[4, 5]:.2f}" in look


def table_with(at: AppTest, column: str, value: str):
    """The page's dataframe whose `column` holds `value`."""
    return next(frame.value for frame in at.dataframe
                if column in frame.value.columns and value in set(frame.value[column]))


def test_every_step_of_the_default_lesson_opens_on_its_page_with_its_state(default_model):
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=240)
    at.query_params["lesson"], at.query_params["step"] = DEFAULT_LESSON, "1"
    at.switch_page(LESSON_PAGE).run()
    for number, step in enumerate(LESSON.steps, start=1):
        assert not at.exception, (number, [e.value for e in at.exception])
        panel = [s.value for s in at.subheader]
        assert panel[0] == escape_markdown(step.title), number           # the lesson panel, first
        assert at.query_params["step"] == str(number) and at.query_params["lesson"] == DEFAULT_LESSON
        shown = bound(at)
        assert set(shown) <= set(PAGES[step.page].params) | {f"occ{i}" for i in range(1, 13)}, (number, shown)
        for name, value in step.state.items():                           # the step's state, in the widgets
            if name in ("a", "b"):
                assert at.session_state[f"text_{name}"] == value, (number, name)
            elif name != "model":  # what the widget holds (a layer index n − 1 for layer n)…
                held = at.session_state[name]
                assert held == lessons.widget_value(lessons.param_of(step.page, name), value), (number, name, held)
                if name in shown:  # …and what it shows and writes into the link
                    assert shown_text(shown[name]) == str(value), (number, name, shown[name], value)
        if step.highlight:
            assert step.highlight in texts(at), (number, step.highlight)
        check_numbers(number, at, default_model)
        if number < len(LESSON.steps):
            at.button(key="lesson_next").click().run()
    assert at.button(key="lesson_next").disabled
    # Back one step, then the sidebar's list jumps to step 3 (another page, the same ?layer= name).
    at.button(key="lesson_prev").click().run()
    assert at.subheader[0].value == escape_markdown(LESSON.steps[-2].title)
    at.radio(key="lesson_pick").set_value(2).run()
    assert not at.exception and at.subheader[0].value == escape_markdown(LESSON.steps[2].title)
    assert (at.selectbox(key="layer").value, at.selectbox(key="head").value) == (5, 11)   # layer 6, head 12
    # Leaving the lesson drops its parameters and keeps the page's (AppTest then reruns the page it was
    # switched to, the Lesson page; the browser test sees the step's page stay as it is).
    at.button(key="lesson_leave").click().run()
    assert "step" not in at.query_params and "lesson" not in at.query_params and at.query_params["token"] == "8"


def test_pages_defaults_are_those_of_the_catalogue(tmp_path):
    """A step that does not name a parameter gives it the page's default: PAGES must know them. The
    pre-training pages draw their own widgets only for a model with the heads (a random-weight one
    here); with the bundled model, only the masking simulator's."""
    with_heads = save_random_checkpoint(tmp_path / "with_heads")
    for page, model in (("attention", None), ("sentence_embeddings", None), ("training_data", None),
                        ("masked_words", with_heads), ("next_sentence", with_heads), ("masked_words", None),
                        ("finetune", None), ("compare", None)):
        at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=240)
        if model is not None:
            at.query_params["model"] = str(model)
        at.switch_page(PAGES[page].path).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        shown = bound(at)
        simulator = {f"{prefix}_{name}" for prefix in ("mw_mask", "nsp_mask") for name in ("seed", "wwm")}
        if model is None and page == "masked_words":    # no head: only the simulator
            assert set(shown) == {"mw_mask_seed", "mw_mask_wwm"}
        else:
            assert set(shown) == set(PAGES[page].params) - simulator, page
        for name, value in lessons.page_state(lessons.Step("", page, "", ""), 6).items():
            if value is not None and name in shown:
                assert shown_text(shown[name]) == value, (page, name)


def test_a_teachers_lesson_folder_and_its_malformed_file(tmp_path, monkeypatch):
    course = (LESSONS_DIR / f"{DEFAULT_LESSON}.toml").read_text(encoding="utf-8")
    (tmp_path / "week3.toml").write_text(course.replace("ss_layer = 3", "ss_layer = 7"), encoding="utf-8")
    monkeypatch.setenv("BERT_EXPLORER_LESSONS", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=240)
    at.switch_page(LESSON_PAGE).run()
    assert not at.exception and "week3" in at.selectbox(key="lesson_choice").options
    assert len(at.get("page_link")) == len(LESSON.steps)                # one link per step
    at.selectbox(key="lesson_choice").set_value("week3").run()
    said = "step 6 (“One sentence, one head as a parser”): state.ss_layer = 7 is outside 1…6 for all-MiniLM-L6-v2"
    assert escape_markdown(said) in at.error[0].value                  # the teacher's text, escaped
    # A link naming the malformed lesson says so on the page it opens, instead of failing.
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=240)
    at.query_params["lesson"], at.query_params["step"] = "week3", "2"
    at.switch_page("app/pages/home.py").run()
    assert not at.exception and escape_markdown("ss_layer = 7 is outside") in at.error[0].value
