"""Lessons as data: a TOML file of ordered steps, each opening one page of the app in a given state.

A lesson file looks like this (lessons/bert_course.toml is the course that ships with the app):

    title = "How BERT reads a sentence"
    model = "all-MiniLM-L6-v2"          # optional: the model every step opens with (default: the bundled one)

    [[steps]]
    title = "Word pieces, [CLS] and [SEP]"
    page = "tokens"                     # a page of PAGES
    text = "Two to five sentences for the students."
    look = "What to look at: the callout shown beside the page."
    highlight = "The input embedding"   # optional: a heading or label on the page, outlined and scrolled to
    [steps.state]                       # the page's URL parameters (as in a shared link), plus a, b, model
    a = "Sinan loves a beautiful day"

The state is what a shared link of the page carries: `a` and `b` (the sidebar's sentences), `model`,
and the page's own parameters, named and numbered as in its URL (layers 1…L and heads 1…H; layer 0,
where a page has one, is the embedding output). load_lesson checks every step against PAGES and the
model's size and lists every problem, each naming its step and field; dump_lesson writes a lesson back.
No Streamlit here: the Lesson page (app/lesson_mode.py), the handout and the tests call these functions.
"""
from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bert_core import DEFAULT_MODEL, default_checkpoint

from .attention import DIRECTIONS, MEASURES
from .finetune import APPROACHES, POOLS
from .polysemy import PRESETS
from .pretraining import TOP_K
from .sentence_embeddings import EXAMPLE_SENTENCES, POOLINGS

LESSONS_DIR = Path(__file__).resolve().parents[1] / "lessons"
DEFAULT_LESSON = "bert_course"
SHARED = ("a", "b", "model")  # the sidebar's state, in every page's URL
STEP_FIELDS = {"title", "page", "text", "look", "highlight", "state"}
REQUIRED_STEP_FIELDS = ("title", "page", "text", "look")
LESSON_FIELDS = {"title", "model", "description", "steps"}


@dataclass(frozen=True)
class Param:
    """One URL parameter of a page: what values it takes and how its widget holds them.

    kind: "layer"/"head": a selectbox over indices shown from 1 (URL 1…L / 1…H, widget n − 1);
    "layer_number"/"head_number": the widget holds the number itself (1…L / 1…H); "layer0": 0…L
    (0 = the embedding output); "int": a whole number ≥ `low`; "float": a number (a slider's 0.1 steps);
    "occurrence": 1, 2, … (widget n − 1);
    "bool"; "choice": one of `choices`; "text"; "texts": a list of texts; "heads": a list of "L-H";
    "words": a list of the sentence's words as a multiselect of words shows them, "word (n)", n from 1.
    default: the page's own default, in URL form ("L": the model's number of layers); a step that does
    not name the parameter gets it. None where the default depends on the data (the page picks it).
    """
    kind: str
    choices: tuple[str, ...] = ()
    low: int = 0
    default: str | None = None
    options: tuple[str, ...] = ()  # a "choice" shown through a format_func: the widget's values, as `choices`


@dataclass(frozen=True)
class PageSpec:
    path: str                      # the page's file, for st.switch_page
    title: str                     # as in the navigation
    params: dict[str, Param]       # its own URL parameters (the widgets' keys)


OFF = Param("bool", default="false")
LAST_LAYER = Param("layer0", default="L")
PROJECTIONS = Param("choice", ("PCA", "UMAP"), default="PCA")
RELATION_DIRECTIONS = Param("choice", ("dependent → head", "head → dependent"), default="dependent → head")
FIRST_PRESET = next(iter(PRESETS))


def labelled_choice(labels: dict[str, str]) -> Param:
    """A choice whose widget shows labels[value] (and the URL carries it); the first is the default."""
    return Param("choice", tuple(labels.values()), default=next(iter(labels.values())), options=tuple(labels))


SEED = Param("int", default="0")
# The pages' own defaults, as they write them (tests/test_pages_lesson.py opens each page to check).
PLL_EXAMPLE = "The keys to the cabinet are on the table.\nThe keys to the cabinet is on the table."
NSP_ALTERNATIVES = "Penguins are flightless.\nHe bought a gallon of milk."
FINETUNE_DATA = ("Spam or not (shipped)", "UPOS tags (shipped)")

# The pages a step can open, by the name in their URL (/tokens, /attention, …), and the parameters
# each binds to the URL. tests/test_pages_lesson.py checks this against the widgets the pages draw.
PAGES: dict[str, PageSpec] = {
    "tokens": PageSpec("app/pages/tokens.py", "Tokens and embeddings", {"dims": Param("int", low=4)}),
    "attention": PageSpec("app/pages/attention.py", "Attention views", {
        "view": Param("choice", ("Head view", "Model view"), default="Head view"), "layer": Param("layer", default="1"),
        "head": Param("head", default="1"), "dir": Param("choice", DIRECTIONS, default="All"), "hide": OFF,
        "renorm": OFF, "words": OFF, "measure": Param("choice", tuple(MEASURES), default=next(iter(MEASURES)))}),
    "inside_head": PageSpec("app/pages/inside_head.py", "Inside one head", {
        "layer": Param("layer", default="2"), "head": Param("head", default="2"), "token": Param("int", default="1")}),
    "head_overview": PageSpec("app/pages/head_overview.py", "Head overview", {
        "pick_layer": Param("layer", default="1"), "pick_head": Param("head", default="1"),
        "rollout": Param("layer_number", default="L"), "off": Param("heads")}),
    "word_in_context": PageSpec("app/pages/word_in_context.py", "A word in context", {
        "preset": Param("choice", (*PRESETS, "(your own)"), default=FIRST_PRESET),
        "word": Param("text", default=FIRST_PRESET),
        "sentences": Param("text", default="\n".join(PRESETS[FIRST_PRESET])), "layer": LAST_LAYER}),
    "word_senses": PageSpec("app/pages/word_senses.py", "Word senses", {
        "source": Param("choice", ("Example set (12 ambiguous words, written for this project)", "Upload a table"),
                        default="Example set (12 ambiguous words, written for this project)"),
        "words": Param("texts"), "word": Param("text"), "layer": LAST_LAYER, "projection": PROJECTIONS,
        "dims": Param("choice", ("2-D", "3-D"), default="2-D")}),
    "sentence_embeddings": PageSpec("app/pages/sentence_embeddings.py", "Sentence embeddings", {
        "source": Param("choice", ("Type them", "Upload a file"), default="Type them"),
        "sentences": Param("text", default="\n".join(EXAMPLE_SENTENCES)),
        "pooling": Param("choice", tuple(POOLINGS), default="mean"), "layer": LAST_LAYER, "map": PROJECTIONS}),
    "syntax_sentence": PageSpec("app/pages/syntax_sentence.py", "Syntax in one sentence", {
        "ss_layer": Param("layer_number"), "ss_head": Param("head_number"), "ss_direction": RELATION_DIRECTIONS}),
    "syntax_corpus": PageSpec("app/pages/syntax_corpus.py", "Syntactic heads on a treebank", {
        "sc_source": Param("choice", ("Built-in sample", "Upload a CoNLL-U file", "Raw text"),
                           default="Built-in sample"),
        "sc_direction": RELATION_DIRECTIONS, "sc_relation": Param("text")}),
    # The pre-training pages: a model without the head shows only the masking simulator (?mw_mask_seed=…).
    "training_data": PageSpec("app/pages/training_data.py", "How the training data are made", {
        "mask_seed": SEED, "mask_wwm": OFF, "pair": SEED}),
    "masked_words": PageSpec("app/pages/masked_words.py", "Masked words", {
        "mw_mask_seed": SEED, "mw_mask_wwm": OFF, "mask": Param("words"),
        "k": Param("int", low=1, default=str(TOP_K)),
        "temp": Param("float", default="1.0"), "targets": Param("text", default=""),
        "pin": Param("text", default="city"), "pll": Param("text", default=PLL_EXAMPLE)}),
    "next_sentence": PageSpec("app/pages/next_sentence.py", "Next sentence", {
        "nsp_mask_seed": SEED, "nsp_mask_wwm": OFF, "alts": Param("text", default=NSP_ALTERNATIVES)}),
    "finetune": PageSpec("app/pages/finetune.py", "Fine-tune a classifier", {
        "data": Param("choice", (*FINETUNE_DATA, "Upload a file"), default=FINETUNE_DATA[0]), "seed": SEED,
        "approach": labelled_choice(APPROACHES), "top": Param("layer_number", default="2"),
        "epochs": Param("int", low=1, default="3"), "pool": labelled_choice(POOLS)}),
    "compare": PageSpec("app/pages/compare.py", "Compare two models", {
        "model_b": Param("text", default=""), "depth": Param("float", default="1.0"),
        "cmp_word": Param("text", default="bank"), "cmp_a": Param("text", default="He sat on the bank of the river."),
        "cmp_b": Param("text", default="She went to the bank to pay the bill.")}),
}
HEAD_PAIR = Param("head_pair")  # one "L-H" of a "heads" list
WORD_PICK = re.compile(r".+ \(([1-9][0-9]*)\)")  # a "words" item: "great (4)", the 4th word

# Parameters named by a pattern: A word in context's ?occ3=2 (the second occurrence in sentence 3).
PATTERN_PARAMS = {"word_in_context": (re.compile(r"occ[1-9][0-9]?"), Param("occurrence"))}


@dataclass(frozen=True)
class Step:
    title: str
    page: str
    text: str
    look: str
    state: dict[str, str | list[str]] = field(default_factory=dict)  # URL parameters, as text
    highlight: str = ""

    @property
    def spec(self) -> PageSpec:
        return PAGES[self.page]


@dataclass(frozen=True)
class Lesson:
    title: str
    steps: tuple[Step, ...]
    model: str = DEFAULT_MODEL
    description: str = ""

    def model_of(self, step: Step) -> str:
        return str(step.state.get("model", self.model))


class LessonError(ValueError):
    """A lesson file that cannot be used: `problems` lists each one, naming its step and field."""

    def __init__(self, source: str, problems: list[str]):
        self.source, self.problems = source, problems
        super().__init__(f"{source}: " + "; ".join(problems))


def param_of(page: str, name: str) -> Param | None:
    if name in PAGES[page].params:
        return PAGES[page].params[name]
    pattern = PATTERN_PARAMS.get(page)
    return pattern[1] if pattern and pattern[0].fullmatch(name) else None


def model_shape(name: str) -> tuple[int, int] | None:
    """(layers, heads) of a model from its config.json without loading weights: the bundled model or a
    local checkpoint folder; None for a hub id (checked when the step opens)."""
    folder = default_checkpoint() if name == DEFAULT_MODEL else Path(name)
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        return int(config["num_hidden_layers"]), int(config["num_attention_heads"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def page_state(step: Step, layers: int) -> dict[str, str | list[str] | None]:
    """Every parameter of the step's page: the step's value, else the page's default (None: the page
    chooses). A step naming a preset of A word in context and not its word or sentences gets the preset's."""
    defaults = {key: str(layers) if param.default == "L" else param.default
                for key, param in PAGES[step.page].params.items()}
    preset = step.state.get("preset")
    if step.page == "word_in_context" and preset in PRESETS:
        defaults.update(word=preset, sentences="\n".join(PRESETS[preset]))
    return {**defaults, **{key: value for key, value in step.state.items() if key not in SHARED}}


def widget_value(param: Param, value: str | list[str]) -> object:
    """What the page's widget holds for a URL value (a selectbox over indices holds n − 1 for layer n)."""
    if param.kind in ("layer", "head", "occurrence"):
        return int(value) - 1
    if param.kind in ("layer_number", "head_number", "layer0", "int"):
        return int(value)
    if param.kind == "bool":
        return value == "true"
    if param.kind == "float":
        return float(value)
    if param.kind == "words":
        return [int(WORD_PICK.fullmatch(item)[1]) - 1 for item in value]
    if param.options:
        return param.options[param.choices.index(value)]
    return value


def _url_text(value: object) -> str | list[str] | None:
    """A TOML value as the URL carries it: true/false, numbers and text as text; None if it cannot be."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, list) and all(isinstance(item, int | str) and not isinstance(item, bool) for item in value):
        return [str(item) for item in value]
    return None


def _check_value(name: str, param: Param, value: str | list[str], model: str, shape) -> str | None:
    """What is wrong with `value` for `param`, or None."""
    if param.kind in ("texts", "heads", "words"):
        if not isinstance(value, list):
            return f"{name} must be a list, e.g. {name} = [\"…\"]"
        if param.kind == "words":
            wrong = [item for item in value if not WORD_PICK.fullmatch(item)]
            return f"{name}: {wrong[0]!r} is not a word as the page shows it, e.g. \"great (4)\"" if wrong else None
        if param.kind == "heads":
            for item in value:
                problem = _check_value(name, HEAD_PAIR, item, model, shape)
                if problem:
                    return problem
        return None
    if isinstance(value, list):
        return f"{name} takes one value, not a list"
    if param.kind == "head_pair":
        match = re.fullmatch(r"(\d+)-(\d+)", value)
        if not match:
            return f"{name}: {value!r} is not a head written layer-head, e.g. \"3-9\""
        return (_check_value(name, Param("layer"), match[1], model, shape)
                or _check_value(name, Param("head"), match[2], model, shape))
    if param.kind == "choice":
        return None if value in param.choices else (
            f"{name} = {value!r} is not one of " + ", ".join(repr(c) for c in param.choices))
    if param.kind == "bool":
        return None if value in ("true", "false") else f"{name} must be true or false, not {value!r}"
    if param.kind == "text":
        return None
    if param.kind == "float":
        try:
            float(value)
        except ValueError:
            return f"{name} must be a number, not {value!r}"
        return None
    if not re.fullmatch(r"-?\d+", value):
        return f"{name} must be a whole number, not {value!r}"
    number = int(value)
    if param.kind in ("layer", "layer_number", "head", "head_number", "layer0"):
        low = 0 if param.kind == "layer0" else 1
        what = "heads" if param.kind.startswith("head") else "layers"
        count = None if shape is None else shape[what == "heads"]
        if number < low or (count is not None and number > count):
            size = f"{count} {what}" if count is not None else f"{what} from {low}"
            return (f"{name} = {number} is outside {low}…{count if count is not None else 'N'} for {model} ({size}"
                    + (", layer 0 being the embedding output)" if param.kind == "layer0" else ")"))
        return None
    low = 1 if param.kind == "occurrence" else param.low
    return None if number >= low else f"{name} must be at least {low}, not {number}"


def _step(index: int, raw: object, lesson_model: str, shapes: dict, problems: list[str]) -> Step | None:
    where = f"step {index}"
    if not isinstance(raw, dict):
        problems.append(f"{where}: a step is a table ([[steps]] with title, page, text, look, state)")
        return None
    if isinstance(raw.get("title"), str) and raw["title"].strip():
        where = f"step {index} (“{raw['title'].strip()}”)"
    count = len(problems)
    for name in REQUIRED_STEP_FIELDS:
        if name not in raw:
            problems.append(f"{where}: missing field '{name}'")
        elif not isinstance(raw[name], str) or not raw[name].strip():
            problems.append(f"{where}: field '{name}' must be non-empty text")
    for name in sorted(set(raw) - STEP_FIELDS):
        problems.append(f"{where}: unknown field '{name}' (a step has {', '.join(sorted(STEP_FIELDS))})")
    if "highlight" in raw and not isinstance(raw["highlight"], str):
        problems.append(f"{where}: field 'highlight' must be text")
    page = raw.get("page")
    if isinstance(page, str) and page.strip() and page not in PAGES:
        problems.append(f"{where}: field 'page': unknown page '{page}' (the pages are {', '.join(PAGES)})")
    raw_state = raw.get("state", {})
    if not isinstance(raw_state, dict):
        problems.append(f"{where}: field 'state' must be a table of URL parameters ([steps.state])")
        raw_state = {}
    state: dict[str, str | list[str]] = {}
    for name, raw_value in raw_state.items():
        value = _url_text(raw_value)
        if value is None:
            problems.append(f"{where}: state.{name} must be text, a number, true/false or a list of them")
            continue
        state[name] = value
    model = str(state.get("model", lesson_model))
    if isinstance(state.get("model", ""), list) or not model.strip():
        problems.append(f"{where}: state.model must be a model's name")
    if page in PAGES:
        if model not in shapes:
            shapes[model] = model_shape(model)
        for name, value in state.items():
            if name in SHARED:
                if isinstance(value, list):
                    problems.append(f"{where}: state.{name} takes one text, not a list")
                continue
            param = param_of(page, name)
            if param is None:
                pattern = ["occ1, occ2, …"] if page in PATTERN_PARAMS else []
                known = ", ".join([*SHARED, *PAGES[page].params, *pattern])
                problems.append(f"{where}: state.{name} is not a parameter of the page '{page}' (it has {known})")
                continue
            problem = _check_value(name, param, value, model, shapes[model])
            if problem:
                problems.append(f"{where}: state.{problem}")
    if len(problems) > count:
        return None
    return Step(title=raw["title"].strip(), page=page, text=raw["text"].strip(), look=raw["look"].strip(),
                state=state, highlight=raw.get("highlight", "").strip())


def parse_lesson(data: dict, source: str = "the lesson") -> Lesson:
    """A Lesson from TOML's dict; LessonError lists every problem found."""
    problems: list[str] = []
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append("missing field 'title' (the lesson's title, at the top of the file)")
    for name in sorted(set(data) - LESSON_FIELDS):
        problems.append(f"unknown field '{name}' at the top (a lesson has {', '.join(sorted(LESSON_FIELDS))})")
    model = data.get("model", DEFAULT_MODEL)
    if not isinstance(model, str) or not model.strip():
        problems.append("field 'model' must be a model's name")
        model = DEFAULT_MODEL
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append("field 'description' must be text")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.append("no steps: add at least one [[steps]] table")
        raw_steps = []
    shapes: dict[str, tuple[int, int] | None] = {}
    steps = [_step(index, raw, model.strip(), shapes, problems) for index, raw in enumerate(raw_steps, start=1)]
    if problems:
        raise LessonError(source, problems)
    return Lesson(title=title.strip(), steps=tuple(steps), model=model.strip(),
                  description=description.strip() if isinstance(description, str) else "")


def load_lesson(text: str | bytes, source: str = "the lesson") -> Lesson:
    """Read a lesson file's text. LessonError names every problem (a TOML syntax error by its line)."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise LessonError(source, ["the file is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as err:
        raise LessonError(source, [f"not valid TOML: {err}"]) from None
    return parse_lesson(data, source)


def _toml_string(text: str) -> str:
    """A TOML basic string; a text of several lines as a multi-line string, as a teacher writes it."""
    controls = {i: f"\\u{i:04x}" for i in [*range(0x09), *range(0x0b, 0x20), 0x7f]}
    escaped = text.replace("\\", "\\\\").translate(controls)
    if "\n" in text:
        return '"""\n' + escaped.replace('"', '\\"') + '"""'
    return '"' + escaped.replace('"', '\\"').replace("\n", "\\n") + '"'


def _toml_value(value: str | list[str]) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_string(item) for item in value) + "]"
    return _toml_string(value)


def dump_lesson(lesson: Lesson) -> str:
    """The lesson as a TOML file (state values written as text, as the URL has them); load_lesson reads it back."""
    lines = [f"title = {_toml_string(lesson.title)}", f"model = {_toml_string(lesson.model)}"]
    if lesson.description:
        lines.append(f"description = {_toml_string(lesson.description)}")
    for step in lesson.steps:
        lines += ["", "[[steps]]", f"title = {_toml_string(step.title)}", f"page = {_toml_string(step.page)}",
                  f"text = {_toml_string(step.text)}", f"look = {_toml_string(step.look)}"]
        if step.highlight:
            lines.append(f"highlight = {_toml_string(step.highlight)}")
        if step.state:
            lines.append("[steps.state]")
            lines += [f"{json.dumps(name)} = {_toml_value(value)}" for name, value in step.state.items()]
    return "\n".join(lines) + "\n"


def lesson_files(extra_folder: str | None = None) -> dict[str, Path]:
    """Lessons on this server by name (file stem): those shipped in lessons/, then a teacher's folder
    (BERT_EXPLORER_LESSONS), whose files take precedence over shipped ones of the same name."""
    found = {path.stem: path for path in sorted(LESSONS_DIR.glob("*.toml"))}
    if extra_folder:
        found.update({path.stem: path for path in sorted(Path(extra_folder).expanduser().glob("*.toml"))})
    return found


def step_params(lesson: Lesson, index: int, lesson_name: str) -> dict[str, str | list[str]]:
    """The query string that opens step `index` (0-based): the step's state, the lesson's model, and the
    lesson and step (numbered from 1) that the lesson banner reads."""
    step = lesson.steps[index]
    return {"model": lesson.model, **step.state, "lesson": lesson_name, "step": str(index + 1)}
