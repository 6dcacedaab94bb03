"""Page state in the URL (?layer=3&head=7&token=2…), so a teacher can share a link that reopens the view.

Layers and heads are numbered from 1 wherever a user sees them, in the URL too: encoder layers
1…L and heads 1…H, as Clark et al. (2019) and the Syntax pages write them ("L-H"); where hidden
states are shown, layer 0 is the embedding output (as on the Word senses pages). Code indexes
them from 0; `number`, `get_index` and `seed_index` convert at the page boundary.

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


def number(index: int) -> int:
    """The number a user sees (pages, URLs, downloads) for a 0-based layer or head index."""
    return index + 1


def number_label(index: int) -> str:
    """number() as text, for a selectbox's format_func."""
    return str(number(index))


def get_index(name: str, default: int, count: int) -> int:
    """The 0-based index of the layer or head that ?name= numbers from 1, clamped to the `count` there
    are; `default` (0-based) when missing or not an integer."""
    return get_int(name, number(default), number(0), count) - 1


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


def seed_index(key: str, name: str, default: int, count: int) -> None:
    """seed_int for a widget that holds a 0-based layer or head index while ?name= numbers it from 1."""
    if key not in st.session_state:
        st.session_state[key] = get_index(name, default, count)
    st.session_state[key] = min(max(st.session_state[key], 0), count - 1)


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
