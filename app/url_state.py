"""Page state in the URL (?layer=3&head=7&token=2…), so a teacher can share a link that reopens the view.

Readers never fail: a missing or malformed value falls back silently to the default, a value out
of range is clamped, so a hand-edited or stale link still opens a page. Writers only touch the URL
when the value changed, which keeps Streamlit from adding history entries on every rerun.
The sidebar keeps the model and the sentences in the same query string (?model=&a=&b=).
"""
from __future__ import annotations

import streamlit as st


def get_int(name: str, default: int, lo: int, hi: int) -> int:
    """The integer ?name=, clamped to [lo, hi]; `default` (also clamped) when missing or not an integer."""
    try:
        value = int(st.query_params.get(name, default))
    except (TypeError, ValueError):
        value = default
    return min(max(value, lo), hi)


def get_choice(name: str, default: str, options: list[str] | tuple[str, ...]) -> str:
    """?name= when it is one of `options`, else `default`."""
    value = st.query_params.get(name, default)
    return value if value in options else default


def get_bool(name: str, default: bool) -> bool:
    """?name=1/0 (also true/false, yes/no, on/off); `default` for anything else."""
    value = str(st.query_params.get(name, "")).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return default


def seed_int(key: str, name: str, default: int, lo: int, hi: int) -> None:
    """Give the widget with session key `key` its first value from ?name= (or `default`), and keep a
    value it already has inside [lo, hi] (the sentence may have become shorter). Call it before the
    widget, create the widget with `key=` and no `value=`, then write it back with set_value."""
    if key not in st.session_state:
        st.session_state[key] = get_int(name, default, lo, hi)
    st.session_state[key] = min(max(st.session_state[key], lo), hi)


def set_value(name: str, value: int | str | bool | None) -> None:
    """Write ?name=value (booleans as 1/0); None removes the parameter."""
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
        return
    text = str(int(value)) if isinstance(value, bool) else str(value)
    if st.query_params.get(name) != text:
        st.query_params[name] = text


def page_params(**extra: int | str | bool) -> dict[str, str]:
    """The shared state (model, sentences) plus `extra`, for st.page_link / st.switch_page(query_params=…).

    Streamlit drops the query string when the page changes, so links between pages carry it along.
    """
    params = {key: st.query_params[key] for key in ("model", "a", "b") if key in st.query_params}
    params.update({key: str(int(v)) if isinstance(v, bool) else str(v) for key, v in extra.items()})
    return params
