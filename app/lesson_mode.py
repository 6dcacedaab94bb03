"""Lesson mode in the app: a lesson's step opens its page in the step's state, with a lesson panel.

Everything goes through the URL, so a step's link can be shared and the browser's back button works:
`?lesson=NAME&step=N` on any page (the Lesson page's own link, /lesson?lesson=bert_course&step=3,
is the short form). The router calls, on every run:

1. follow(page), before the sidebar: when the URL names a step this session has not opened yet
   (a link, or the previous/next buttons, which only change ?step=), it sets the sidebar's model and
   sentences and, when the step is on another page, switches to it with the step's query string.
2. open_step(page, model), after the sidebar, before the page: on the step's page it gives the
   page's widgets the step's values (through st.session_state, what a widget holds: layer index
   n − 1 for layer n) and resets the page's other parameters, then draws the lesson panel: progress,
   the step's text, what to look at, previous/next, keyboard arrows, presentation view.

The state is given to the widgets, not only written into the URL, because Streamlit drops a query
parameter bound to another page's widget when the page changes (Attention views and Inside one head
both bind ?layer=). Once a step is open the page is the students' to explore: changing a layer keeps
the step (?step= stays), "Leave the lesson" drops ?lesson=&step= and leaves the page as it is, and
the Lesson page offers to go back to the step.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import streamlit as st

from . import inputs, lessons, sidebar
from .lessons import Lesson, LessonError

LESSONS_FOLDER_ENV = "BERT_EXPLORER_LESSONS"
UPLOADED = "lesson_uploads"      # session: {name: Lesson} uploaded by this browser
AT = "lesson_at"                 # session: (lesson name, step number) last opened
PENDING = "lesson_pending"       # session: the step whose widget state is still to be given
PRESENT = "present"              # ?present=true: the presentation view


def lesson_files() -> dict:
    return lessons.lesson_files(os.environ.get(LESSONS_FOLDER_ENV))


@st.cache_data(max_entries=16, show_spinner=False)
def _read_lesson(path: str, modified: float) -> Lesson:
    return lessons.load_lesson(Path(path).read_bytes(), Path(path).name)


def find_lesson(name: str) -> Lesson | None:
    """A lesson uploaded in this session, or a file on the server; None if there is none by that name.
    LessonError if the file is malformed."""
    if name in st.session_state.get(UPLOADED, {}):
        return st.session_state[UPLOADED][name]
    path = lesson_files().get(name)
    return None if path is None else _read_lesson(str(path), path.stat().st_mtime)


def problems_markdown(err: LessonError) -> str:
    """The validator's messages as a Markdown list; the file's text is the teacher's, so escaped."""
    return "\n".join(f"- {inputs.escape_markdown(problem)}" for problem in err.problems)


def go_to(name: str, number: int) -> None:
    """A button's callback: open step `number` (from 1) of lesson `name` (the next run follows the URL)."""
    st.query_params["lesson"], st.query_params["step"] = name, str(number)


def leave() -> None:
    """Leave the lesson where it is: the page keeps its state, only the lesson's parameters go."""
    for key in ("lesson", "step", PRESENT):
        st.query_params.pop(key, None)


def _toggle_presentation() -> None:
    if st.query_params.get(PRESENT) == "true":
        st.query_params.pop(PRESENT, None)
    else:
        st.query_params[PRESENT] = "true"


def _url_step() -> tuple[str, Lesson, int] | None:
    """(name, lesson, 0-based index) of the step the URL names, or None. A bad name or step is said once."""
    if "step" not in st.query_params:
        return None
    name = st.query_params.get("lesson") or lessons.DEFAULT_LESSON
    try:
        lesson = find_lesson(name)
    except LessonError as err:
        st.error(f"The lesson {inputs.inline_code(name)} cannot be opened:\n\n{problems_markdown(err)}")
        return None
    if lesson is None:
        st.warning(f"There is no lesson {inputs.inline_code(name)} here (an uploaded lesson lives only in the "
                   "browser that uploaded it: upload it again on the Lesson page).")
        return None
    try:
        number = int(st.query_params["step"])
    except ValueError:
        number = 1
    return name, lesson, min(max(number, 1), len(lesson.steps)) - 1


def follow(page) -> tuple[str, Lesson, int] | None:
    """Before the sidebar: open the step the URL names if this session has not opened it yet (on its own
    page), and list the lesson's steps at the top of the sidebar. Returns (name, lesson, index) of the step
    open on this page, or None."""
    found = _url_step()
    if found is None:
        return None
    name, lesson, index = found
    step = lesson.steps[index]
    if st.session_state.get(AT) != (name, index + 1):
        st.session_state[AT] = st.session_state[PENDING] = (name, index + 1)
        st.session_state["model_name"] = lesson.model_of(step)
        if "a" in step.state:
            sidebar.show_sentences(str(step.state["a"]), str(step.state.get("b", "")))
    if page.url_path != step.page:
        st.switch_page(step.spec.path, query_params=_step_query(lesson, index, name))
    _step_list(lesson, name, index)
    return found


def _step_query(lesson: Lesson, index: int, name: str) -> dict:
    """The step's query string without the page's own parameters (Streamlit refuses to write a parameter
    bound to a widget; the widgets get their values through st.session_state and write them to the URL)."""
    query = {key: value for key, value in lessons.step_params(lesson, index, name).items()
             if key in (*lessons.SHARED, "lesson", "step")}
    if st.query_params.get(PRESENT) == "true":
        query[PRESENT] = "true"
    return query


def _fits(param: lessons.Param, value: int, model) -> bool:
    """Whether a layer or head number fits the model the sidebar loaded (it may have fallen back)."""
    layers, heads = model.config.num_hidden_layers, model.config.num_attention_heads
    if param.kind in ("layer", "layer_number"):
        return 1 <= value <= layers
    if param.kind in ("head", "head_number"):
        return 1 <= value <= heads
    return param.kind != "layer0" or 0 <= value <= layers


def _give_state(lesson: Lesson, index: int, name: str, model) -> list[str]:
    """Give the page's widgets the step's values, and the page's defaults to the parameters the step does
    not name: set explicitly, since a widget the browser already shows keeps its value otherwise.
    Returns the values that do not fit the model the sidebar loaded (left as the page has them)."""
    step = lesson.steps[index]
    skipped = []
    for key, value in lessons.page_state(step, model.config.num_hidden_layers).items():
        param = lessons.param_of(step.page, key)
        if value is None:  # the page's default depends on its data: the page picks it
            if key in st.session_state:
                del st.session_state[key]
            continue
        if param.kind in ("layer", "head", "layer_number", "head_number", "layer0") and not _fits(param, int(value),
                                                                                                   model):
            if key in step.state:
                skipped.append(f"{key} = {value}")
            continue
        st.session_state[key] = lessons.widget_value(param, value)
    for key, value in _step_query(lesson, index, name).items():
        st.query_params[key] = value
    return skipped


def open_step(found: tuple[str, Lesson, int] | None, model):
    """After the sidebar, on the page of the step follow() found: give the page the step's state and
    draw the lesson panel. Returns the context the page is drawn in: the column beside the panel in
    the presentation view."""
    if found is None:
        return contextlib.nullcontext()
    name, lesson, index = found
    skipped = []
    if st.session_state.get(PENDING) == (name, index + 1):
        del st.session_state[PENDING]
        skipped = _give_state(lesson, index, name, model)
    presenting = st.query_params.get(PRESENT) == "true"
    if presenting:
        st.html(_PRESENTATION_CSS)
        panel, figure = st.columns([1, 2.3], gap="large")
        with panel:
            _panel(lesson, name, index, skipped, presenting)
        return figure
    _panel(lesson, name, index, skipped, presenting)
    return contextlib.nullcontext()


def _step_list(lesson: Lesson, name: str, index: int) -> None:
    """The steps in the sidebar; picking one opens it."""
    st.session_state["lesson_pick"] = index
    st.sidebar.radio(f"Lesson: {inputs.escape_markdown(lesson.title)}", range(len(lesson.steps)), key="lesson_pick",
                     format_func=lambda i: f"{i + 1}. {inputs.escape_markdown(lesson.steps[i].title)}",
                     on_change=_on_pick, args=(name,))


def _on_pick(name: str) -> None:
    go_to(name, st.session_state["lesson_pick"] + 1)


def _panel(lesson: Lesson, name: str, index: int, skipped: list[str], presenting: bool) -> None:
    step, count = lesson.steps[index], len(lesson.steps)
    with st.container(border=True, key="lesson_panel"):
        st.progress((index + 1) / count,
                    text=f"**{inputs.escape_markdown(lesson.title)}** · step {index + 1} of {count}")
        st.subheader(inputs.escape_markdown(step.title), anchor=False)
        st.markdown(inputs.escape_markdown(step.text))
        st.info(inputs.escape_markdown(step.look), icon=":material/visibility:")
        if skipped:
            st.warning(f"This model is smaller than the lesson's: {', '.join(skipped)} left as the page has it.")
        with st.container(horizontal=True):
            st.button("Previous", key="lesson_prev", icon=":material/arrow_back:", disabled=index == 0,
                      on_click=go_to, args=(name, index), help="Or press ←")
            st.button("Next", key="lesson_next", icon=":material/arrow_forward:", type="primary",
                      disabled=index == count - 1, on_click=go_to, args=(name, index + 2), help="Or press →")
            st.button("Exit presentation" if presenting else "Presentation view", key="lesson_present",
                      icon=":material/co_present:", on_click=_toggle_presentation)
            st.button("Leave the lesson", key="lesson_leave", icon=":material/logout:", on_click=leave,
                      help="Stay on this page as it is, without the lesson panel")
    # Keyboard arrows press the buttons (not while typing in a field or moving a slider).
    st.html(_KEYS_SCRIPT + _highlight_script(step.highlight), width="content", unsafe_allow_javascript=True)


_KEYS_SCRIPT = """<script>
if (!window.lessonKeys) {
  window.lessonKeys = true;
  document.addEventListener("keydown", event => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const key = {ArrowRight: "lesson_next", ArrowLeft: "lesson_prev"}[event.key];
    const target = event.target;
    if (!key || (target.closest && target.closest(
        "input, textarea, select, [contenteditable=true], [role=slider], [role=listbox], [role=combobox]"))) return;
    const button = document.querySelector(".st-key-" + key + " button");
    if (button && !button.disabled) { event.preventDefault(); button.click(); }
  });
}
</script>"""


def _highlight_script(text: str) -> str:
    """Outline the page's first element whose text starts with `text` (a heading, a label, a caption's first
    words) and scroll to it, once the page has drawn it."""
    if not text:  # only the previous step's outline to remove
        return ('<script>document.querySelectorAll(".lesson-highlight")'
                '.forEach(e => e.classList.remove("lesson-highlight"));</script>')
    return ("<script>\n(() => {\n  const wanted = " + json.dumps(text).replace("</", "<\\/") + """;
  let tries = 0;
  // The page's elements are reused from run to run: the previous step's outline goes first.
  document.querySelectorAll(".lesson-highlight").forEach(e => e.classList.remove("lesson-highlight"));
  const find = () => {
    const main = document.querySelector("[data-testid=stMain]");
    const candidates = main ? main.querySelectorAll("h1, h2, h3, p, label, span") : [];
    for (const element of candidates) {
      if (element.closest(".st-key-lesson_panel")) continue;
      if (element.textContent.trim().startsWith(wanted)) {
        const box = element.closest("[data-testid=stHeading], [data-testid=stWidgetLabel]") || element;
        box.classList.add("lesson-highlight");
        box.scrollIntoView({block: "center", behavior: "smooth"});
        return;
      }
    }
    if (++tries < 40) setTimeout(find, 250);
  };
  setTimeout(find, 300);
})();
</script>
<style>.lesson-highlight { outline: 3px solid #f5a623; outline-offset: 6px; border-radius: 4px; }</style>""")


# The projector: no sidebar, larger type, the page wide; the lesson panel stays in view beside it.
_PRESENTATION_CSS = """<style>
section[data-testid=stSidebar], [data-testid=stSidebarCollapsedControl], [data-testid=stExpandSidebarButton] {
  display: none !important; }
.stMainBlockContainer { max-width: 100% !important; padding: 4rem 2rem 2rem 2rem !important; }
.stMainBlockContainer p, .stMainBlockContainer li, .stMainBlockContainer label { font-size: 1.3rem !important; }
.stMainBlockContainer h1 { font-size: 2.6rem !important; }
.st-key-lesson_panel p { font-size: 1.45rem !important; line-height: 1.5; }
.st-key-lesson_panel h3 { font-size: 2rem !important; }
div[data-testid=stColumn]:has(.st-key-lesson_panel) { position: sticky; top: 3.5rem; align-self: flex-start; }
</style>"""


def upload_lesson(upload) -> tuple[str, Lesson] | None:
    """Read an uploaded lesson file; the validator's messages, or the lesson kept for this session."""
    name = os.path.splitext(upload.name)[0] or "uploaded"
    try:
        lesson = lessons.load_lesson(upload.getvalue(), upload.name)
    except LessonError as err:
        st.error(f"{inputs.inline_code(upload.name)} cannot be used as a lesson:\n\n{problems_markdown(err)}")
        return None
    st.session_state.setdefault(UPLOADED, {})[name] = lesson
    return name, lesson
