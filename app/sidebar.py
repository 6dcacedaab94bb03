"""The sidebar every page shares: the model, the device, and the sentence(s) to look at.

What it holds lives in st.session_state and in the URL (?model=…&a=…&b=…), so a shared link
reopens the same view.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from bert_core import DEFAULT_MODEL, CheckpointError

from .examples import EXAMPLES
from .services import get_model


@dataclass(frozen=True)
class Selection:
    model_name: str
    model: object
    tokenizer: object
    text_a: str
    text_b: str  # "" when there is no second sentence


def _model_choice() -> str:
    current = st.query_params.get("model", DEFAULT_MODEL)
    with st.sidebar.form("model_form"):
        name = st.text_input("Model", value=current,
                             help=f"'{DEFAULT_MODEL}' (bundled), a local checkpoint folder, or a Hugging Face hub id")
        if st.form_submit_button("Load model"):
            current = name.strip() or DEFAULT_MODEL
            st.query_params["model"] = current
    return current


def _sentences() -> tuple[str, str]:
    labels = ["(your own)"] + [a if not b else f"{a} / {b}" for a, b in EXAMPLES]
    text_a = st.query_params.get("a", EXAMPLES[0][0])
    text_b = st.query_params.get("b", EXAMPLES[0][1])
    choice = st.sidebar.selectbox("Course examples", labels, index=0, key="example_choice")
    if choice != labels[0]:
        text_a, text_b = EXAMPLES[labels.index(choice) - 1]
    with st.sidebar.form("sentence_form"):
        a = st.text_area("Sentence A", value=text_a, height=80)
        b = st.text_area("Sentence B (optional)", value=text_b, height=68)
        if st.form_submit_button("Run", type="primary"):
            text_a, text_b = a, b
    st.query_params["a"], st.query_params["b"] = text_a, text_b
    return text_a, text_b


def render_sidebar() -> Selection:
    model_name = _model_choice()
    try:
        model, tokenizer = get_model(model_name)
    except (CheckpointError, ValueError, OSError) as err:
        st.sidebar.error(f"Could not load {model_name!r}: {err}. Using {DEFAULT_MODEL} instead.")
        model_name = DEFAULT_MODEL
        model, tokenizer = get_model(model_name)
    device = next(model.parameters()).device
    st.sidebar.caption(f"Running on **{device.type.upper()}** · {model.config.num_hidden_layers} layers × "
                       f"{model.config.num_attention_heads} heads · {model.config.hidden_size} wide")
    text_a, text_b = _sentences()
    return Selection(model_name, model, tokenizer, text_a, text_b)
