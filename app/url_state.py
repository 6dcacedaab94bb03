"""Page state in the URL, so a teacher can share a link that reopens the view.

Most widgets keep their own state in the URL: `bind="query-params"` makes the widget's key the
query-parameter name, writes what the widget shows (a selectbox's or radio's label, after
format_func; a slider's number; a toggle's true/false) and drops it again when it equals the
default; a value that does not fit the widget is ignored. So keys are short URL names, and labels
that end up in the URL are short too.

Layers and heads are numbered from 1 wherever a user sees them, in the URL too: encoder layers
1…L and heads 1…H, as Clark et al. (2019) and the Syntax pages write them ("L-H"); where hidden
states are shown, layer 0 is the embedding output (as on the Word senses pages). Code indexes
them from 0; a selectbox over range(L) with format_func=number_label shows and links the number.

What remains here is for state a bound widget cannot hold as we want it (a token picked by
position whose label also shows its text) and for links between pages. The sidebar keeps the
model and the sentences in the same query string (?model=&a=&b=).
"""
from __future__ import annotations

import streamlit as st


def number(index: int) -> int:
    """The number a user sees (pages, URLs, downloads) for a 0-based layer or head index."""
    return index + 1


def number_label(index: int) -> str:
    """number() as text, for a selectbox's format_func: what the page shows and the URL carries."""
    return str(number(index))


def seed_int(key: str, name: str, default: int, lo: int, hi: int) -> None:
    """Give the widget with session key `key` its first value from ?name= (or `default`; both clamped
    to [lo, hi]), and keep a value it already has inside [lo, hi] (the sentence may have become
    shorter). Call it before the widget, create the widget with `key=` and no `value=`, then write it
    back with set_value. Only for widgets that cannot be bound to the URL themselves."""
    if key not in st.session_state:
        try:
            st.session_state[key] = int(st.query_params.get(name, default))
        except (TypeError, ValueError):
            st.session_state[key] = default
    st.session_state[key] = min(max(st.session_state[key], lo), hi)


def set_value(name: str, value: int | str) -> None:
    """Write ?name=value, only when it changed (so Streamlit adds no history entry on every rerun)."""
    if st.query_params.get(name) != str(value):
        st.query_params[name] = str(value)


def page_params(**extra: int | str) -> dict[str, str]:
    """The shared state (model, sentences) plus `extra`, named as the target page's widgets are,
    for st.page_link / st.switch_page(query_params=…).

    Streamlit drops the query string when the page changes, so links between pages carry it along.
    A target page's name must not be bound on the page the link is on: Streamlit drops a parameter
    bound to another page's widget when the page changes.
    """
    params = {key: st.query_params[key] for key in ("model", "a", "b") if key in st.query_params}
    params.update({key: str(value) for key, value in extra.items()})
    return params
