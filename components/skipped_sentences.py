"""The sentences a treebank page left out: a warning with the first few, and all of them, with their line
numbers, in an expander (the others are still analysed)."""
from __future__ import annotations

import streamlit as st

from app.inputs import escape_markdown

FIRST = 3


def skipped_sentences(*, notes: list[str], source: str, count: int | None = None) -> None:
    """notes: one line per skipped sentence or problem; source: where they come from, as shown ("the
    training file", a file's name: Markdown-escaped here); count: sentences skipped (default: one per note)."""
    if not notes:
        return
    first = "; ".join(escape_markdown(note) for note in notes[:FIRST]) + ("…" if len(notes) > FIRST else ".")
    st.warning(f"{len(notes) if count is None else count} sentence(s) of {escape_markdown(source)} skipped; the "
               f"others are analysed. First: {first}")
    with st.expander(f"All {len(notes)} skipped sentence(s) and problem(s), with line numbers"):
        st.text("\n".join(notes))
