"""The one place that embeds HTML in a page (st.iframe), and builds self-contained documents.

Scripts the documents need (d3, jQuery) are vendored in components/static/ and inlined, so a
view works with no network, in the app and as a downloaded file.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import streamlit as st

STATIC = Path(__file__).resolve().parent / "static"


@cache
def static_text(name: str) -> str:
    """A file of components/static/ (read once per process)."""
    return (STATIC / name).read_text(encoding="utf-8")


def inline_script(source: str) -> str:
    """A <script> element holding `source`; "</" is escaped so data cannot close the element early."""
    return "<script>\n" + source.replace("</", "<\\/") + "\n</script>"


def standalone_document(*, title: str, body: str, scripts: tuple[str, ...] = ()) -> str:
    """A complete HTML page: the vendored static scripts named in `scripts`, inlined, then `body`."""
    head_scripts = "\n".join(inline_script(static_text(name)) for name in scripts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>\n'
            f"{head_scripts}\n</head>\n<body style=\"margin:0\">\n{body}\n</body></html>\n")


def embed(html: str, *, height: int, title: str) -> None:
    """Show an HTML document in the page, in an iframe `height` pixels high (scrolls inside if taller)."""
    st.iframe(html, height=height, alt=title)
