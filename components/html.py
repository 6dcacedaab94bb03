"""The one place that embeds HTML in a page (st.iframe), and builds the documents it embeds.

Scripts the documents need (d3, jQuery) are vendored in static/ (never fetched from a CDN). A
downloaded document inlines them, so it works anywhere offline; a document shown in the app links
them from the app's own static route (Streamlit serves static/ at app/static/, see
.streamlit/config.toml), so the browser caches them instead of receiving and compiling 330 KB
of script on every rerun.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import streamlit as st

STATIC = Path(__file__).resolve().parents[1] / "static"
SERVED_AT = "app/static/"  # relative: resolves against the page's URL, so a server base path works too


@cache
def static_text(name: str) -> str:
    """A file of static/ (read once per process)."""
    return (STATIC / name).read_text(encoding="utf-8")


def inline_script(source: str) -> str:
    """A <script> element holding `source`; "</" is escaped so data cannot close the element early."""
    return "<script>\n" + source.replace("</", "<\\/") + "\n</script>"


def standalone_document(*, title: str, body: str, scripts: tuple[str, ...] = (), inline_scripts: bool = True) -> str:
    """A complete HTML page: the vendored scripts named in `scripts`, then `body`. inline_scripts:
    their text is in the page (downloads); False: they are linked from the app's static route."""
    if inline_scripts:
        head_scripts = "\n".join(inline_script(static_text(name)) for name in scripts)
    else:
        head_scripts = "\n".join(f'<script src="{SERVED_AT}{name}"></script>' for name in scripts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>\n'
            f"{head_scripts}\n</head>\n<body style=\"margin:0\">\n{body}\n</body></html>\n")


def embed(html: str, *, height: int, title: str) -> None:
    """Show an HTML document in the page, in an iframe `height` pixels high (scrolls inside if taller)."""
    st.iframe(html, height=height, alt=title)
