"""The one place that caches: models with st.cache_resource, results with st.cache_data.

The computations themselves are plain functions elsewhere in app/, called here and by the CLI.
"""
from __future__ import annotations

import streamlit as st

from bert_core import DEFAULT_MODEL, BertModel, load_pretrained

from . import polysemy, sentence_embeddings


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def get_model(name_or_path: str) -> tuple[BertModel, object]:
    """(model, tokenizer), loaded once per server. DEFAULT_MODEL means the bundled checkpoint."""
    return load_pretrained(None if name_or_path == DEFAULT_MODEL else name_or_path)


# Embeddings pages (issue 4). Uploaded files are keyed by their SHA-256 digest; `_data`,
# `_points` and `_progress` are not hashed (the leading underscore tells st.cache_data).

@st.cache_data(max_entries=8, show_spinner=False)
def word_senses(digest: str, name: str, model_name: str, _data: bytes, _progress=None):
    """(Table, SenseAnalysis) of a word-sense table: exactly what `python -m app polysemy` computes."""
    table = polysemy.read_table(_data, name)
    model, tokenizer = get_model(model_name)
    return table, polysemy.analyse_table(model, tokenizer, table, model_name=model_name, progress=_progress)


@st.cache_data(max_entries=32, show_spinner="Projecting…")
def projection(digest: str, model_name: str, word: str, layer: int, method: str, dims: int, _points):
    return polysemy.project(_points, method, dims)


@st.cache_data(max_entries=8, show_spinner=False)
def sentence_vectors(sentences: tuple[str, ...], pooling: str, model_name: str, _progress=None):
    model, tokenizer = get_model(model_name)
    return sentence_embeddings.sentence_embeddings(model, tokenizer, list(sentences), pooling, progress=_progress)
