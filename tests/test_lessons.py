"""Lesson files: the default course loads and round-trips; malformed files get a message naming the step
and the field; a teacher's folder; the handout. No Streamlit, and no model except for the handout."""
from __future__ import annotations

import re

import pytest

from app import lessons
from app.lessons import DEFAULT_LESSON, LESSONS_DIR, PAGES, LessonError, dump_lesson, load_lesson

COURSE = (LESSONS_DIR / f"{DEFAULT_LESSON}.toml").read_text(encoding="utf-8")

GOOD = '''
title = "A small lesson"

[[steps]]
title = "Pieces"
page = "tokens"
text = "Pieces."
look = "The table."
[steps.state]
a = "Sinan loves a beautiful day"

[[steps]]
title = "One head"
page = "inside_head"
text = "A head."
look = "The scores."
[steps.state]
layer = 6
head = 12
token = 8
'''


def problems(text: str) -> list[str]:
    with pytest.raises(LessonError) as caught:
        load_lesson(text, "mine.toml")
    assert str(caught.value).startswith("mine.toml: ")
    return caught.value.problems


def test_the_course_follows_the_issue_and_every_step_is_complete():
    course = load_lesson(COURSE)
    assert len(course.steps) >= 10 and course.model == "all-MiniLM-L6-v2"
    pages = [step.page for step in course.steps]
    assert pages[:4] == ["tokens", "tokens", "inside_head", "attention"]  # the course's order
    assert course.steps[0].state["a"] == "Sinan loves a beautiful day"
    assert (course.steps[1].state["a"], course.steps[1].state["b"]) == ("Paris is a beautiful city", "I love Paris")
    assert {"syntax_corpus", "head_overview", "word_in_context", "sentence_embeddings"} <= set(pages)
    for step in course.steps:
        sentences = len(re.findall(r"[.!?](\s|$)", step.text))
        assert 2 <= sentences <= 5, (step.title, sentences)   # two to five sentences for the students


def test_a_lesson_round_trips_through_its_file():
    for text in (COURSE, GOOD):
        lesson = load_lesson(text)
        assert load_lesson(dump_lesson(lesson)) == lesson
    tricky = load_lesson(GOOD.replace('"Pieces."', '"Quotes \\" and \\\\ back\\u0007slash\\nnew line"'))
    assert load_lesson(dump_lesson(tricky)) == tricky


def test_state_is_kept_as_the_url_has_it():
    lesson = load_lesson(GOOD)
    assert lesson.steps[1].state == {"layer": "6", "head": "12", "token": "8"}
    assert lessons.step_params(lesson, 1, "small") == {"model": "all-MiniLM-L6-v2", "layer": "6", "head": "12",
                                                       "token": "8", "lesson": "small", "step": "2"}
    # A selectbox shown from 1 holds index n − 1; a slider with layer 0 holds the number itself.
    assert lessons.widget_value(PAGES["attention"].params["layer"], "6") == 5
    assert lessons.widget_value(PAGES["word_in_context"].params["layer"], "6") == 6
    assert lessons.widget_value(PAGES["attention"].params["hide"], "true") is True


def test_an_unknown_page_is_named_with_its_step():
    found = problems(GOOD.replace('page = "inside_head"', 'page = "inside_heads"'))
    assert found == ["step 2 (“One head”): field 'page': unknown page 'inside_heads' (the pages are "
                     + ", ".join(PAGES) + ")"]


def test_a_missing_field_is_named_with_its_step():
    found = problems(GOOD.replace('look = "The table."\n', ""))
    assert found == ["step 1 (“Pieces”): missing field 'look'"]
    assert problems(GOOD.replace('title = "A small lesson"', "")) == [
        "missing field 'title' (the lesson's title, at the top of the file)"]


def test_a_layer_or_head_the_model_does_not_have():
    found = problems(GOOD.replace("layer = 6", "layer = 9"))
    assert found == ["step 2 (“One head”): state.layer = 9 is outside 1…6 for all-MiniLM-L6-v2 (6 layers)"]
    found = problems(GOOD.replace("head = 12", "head = 0"))
    assert found == ["step 2 (“One head”): state.head = 0 is outside 1…12 for all-MiniLM-L6-v2 (12 heads)"]
    found = problems(GOOD.replace("layer = 6", "layer = 6\noff = [\"1-2\", \"7-1\"]").replace("inside_head",
                                                                                                "head_overview"))
    assert any("state.off = 7 is outside 1…6" in p for p in found)


def test_unknown_parameters_bad_values_and_syntax_errors():
    found = problems(GOOD.replace("token = 8", "tokn = 8"))
    assert found == ["step 2 (“One head”): state.tokn is not a parameter of the page 'inside_head' "
                     "(it has a, b, model, layer, head, token)"]
    found = problems(GOOD.replace('page = "inside_head"', 'page = "attention"').replace("token = 8",
                                                                                        'view = "Heads"'))
    assert found[0].startswith("step 2 (“One head”): state.view = 'Heads' is not one of 'Head view', 'Model view'")
    found = problems(GOOD.replace("layer = 6", 'layer = "six"'))
    assert found == ["step 2 (“One head”): state.layer must be a whole number, not 'six'"]
    found = problems(GOOD.replace('[steps.state]\na = "Sinan', '[steps.state]\na = "Sinan" "'))
    assert len(found) == 1 and found[0].startswith("not valid TOML") and "line" in found[0]
    found = problems(GOOD.replace('title = "One head"', 'title = "One head"\ncolour = "red"'))
    assert found[0].startswith("step 2 (“One head”): unknown field 'colour'")
    # Every problem at once, each with its step.
    found = problems(GOOD.replace("layer = 6", "layer = 60").replace('look = "The table."\n', ""))
    assert len(found) == 2 and found[0].startswith("step 1") and found[1].startswith("step 2")


def test_a_teachers_folder_adds_and_overrides_lessons(tmp_path):
    (tmp_path / "week3.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / f"{DEFAULT_LESSON}.toml").write_text(GOOD, encoding="utf-8")
    found = lessons.lesson_files(str(tmp_path))
    assert found["week3"] == tmp_path / "week3.toml"
    assert found[DEFAULT_LESSON] == tmp_path / f"{DEFAULT_LESSON}.toml"
    assert lessons.lesson_files(None)[DEFAULT_LESSON] == LESSONS_DIR / f"{DEFAULT_LESSON}.toml"


def test_the_handout_has_every_step_its_figure_and_escapes_the_teachers_text(default_model):
    from app.handout import build_handout

    lesson = load_lesson(GOOD.replace('"Pieces"', '"<script>alert(1)</script>"') + '''
[[steps]]
title = "Heads"
page = "attention"
text = "Heads."
look = "The heatmap."
[steps.state]
a = "The cat sat on the mat because it was tired."
layer = 6
head = 12
''')
    html = build_handout(lesson, *default_model, model_name="all-MiniLM-L6-v2")
    assert html.count("<section>") == 3
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<td>sin</td><td>8,254</td>" in html.replace("\n", "")      # the pieces table of step 1
    assert html.count("plotly-graph-div") == 2                        # the head's weights, the heatmap
    assert html.count("<script>") == 1 + 2                            # plotly.js once, one call per figure
    assert "Layer 6, head 12" in html


PRETRAINING_STEPS = '''
title = "Pre-training"

[[steps]]
title = "The recipe"
page = "training_data"
text = "Masking."
look = "The table."
[steps.state]
a = "The man went to the store."
b = "He bought a gallon of milk."
mask_seed = 0

[[steps]]
title = "Masked words"
page = "masked_words"
text = "The head."
look = "The bars."
[steps.state]
a = "Istanbul is a great [MASK] to visit."
mask = ["visit (7)"]
k = 3

[[steps]]
title = "Next sentence"
page = "next_sentence"
text = "The head."
look = "The bars."
[steps.state]
a = "The man went to the store."
b = "He bought a gallon of milk."

[[steps]]
title = "The family"
page = "compare"
text = "Flavours."
look = "The table."
'''


def test_the_handout_of_the_pre_training_and_family_steps(default_model, tmp_path):
    """Without heads (the bundled model) the two head steps say what to load and show a masking draw; with
    them (a random-weight BertForPreTraining) the top-k table per mask and P(IsNext) per candidate B."""
    from app.handout import build_handout
    from app.pretraining import simulate_masking
    from bert_core import load_pretrained
    from tests.pretraining_models import save_random_checkpoint

    lesson = load_lesson(PRETRAINING_STEPS)
    assert lesson.steps[1].state["mask"] == ["visit (7)"]
    assert lessons.widget_value(PAGES["masked_words"].params["mask"], ["visit (7)"]) == [6]
    html = build_handout(lesson, *default_model, model_name="all-MiniLM-L6-v2").replace("\n", "")
    assert html.count("<section>") == 4 and "could not be made" not in html
    chosen = [row["piece"] for row in simulate_masking(default_model[1], "The man went to the store.",
                                                        "He bought a gallon of milk.", seed=0) if row["label"]]
    assert f"<td>{chosen[0]}</td><td>A</td><td>[MASK]</td><td>{chosen[0]}</td>" in html
    assert html.count("has no masked-LM head") == 1 and html.count("has no next-sentence head") == 1
    assert "<td>RoBERTa-base</td><td>12</td><td>768</td><td>12</td><td>50,265</td>" in html

    model, tokenizer = load_pretrained(save_random_checkpoint(tmp_path / "heads"), device="cpu")
    html = build_handout(lesson, model, tokenizer, model_name="random").replace("\n", "")
    assert "has no" not in html and "could not be made" not in html
    assert "Mask 1 (hid [MASK]): top 3" in html and "Mask 2 (hid visit): top 3" in html
    assert html.count("<th>word piece</th><th>probability</th>") == 2
    assert "<th>sentence B</th><th>P(IsNext)</th>" in html
    for candidate in ("He bought a gallon of milk.", "Penguins are flightless."):
        assert html.count(f"<td>{candidate}</td>") == 1   # B and the page's alternatives, once each


def test_a_word_pick_must_be_written_as_the_page_shows_it():
    broken = PRETRAINING_STEPS.replace('mask = ["visit (7)"]', 'mask = ["visit"]')
    with pytest.raises(LessonError) as caught:
        load_lesson(broken)
    assert "step 2" in str(caught.value) and "'visit' is not a word as the page shows it" in str(caught.value)
