"""The one place that caches: models with st.cache_resource, results with st.cache_data.

The computations themselves are plain functions elsewhere in app/, called here and by the CLI.
"""
from __future__ import annotations

import streamlit as st

from bert_core import DEFAULT_MODEL, BertModel, load_pretrained


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def get_model(name_or_path: str) -> tuple[BertModel, object]:
    """(model, tokenizer), loaded once per server. DEFAULT_MODEL means the bundled checkpoint."""
    return load_pretrained(None if name_or_path == DEFAULT_MODEL else name_or_path)
