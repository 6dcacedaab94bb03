"""The one place that embeds HTML in a page (st.iframe; st.html for the PNG buttons), and builds the
documents it embeds.

Scripts the documents need (d3, jQuery) are vendored in static/ (never fetched from a CDN). A
downloaded document inlines them, so it works anywhere offline; a document shown in the app links
them from the app's own static route (Streamlit serves static/ at app/static/, see
.streamlit/config.toml), so the browser caches them instead of receiving and compiling 330 KB
of script on every rerun.
"""
from __future__ import annotations

import hashlib
import json
from functools import cache
from html import escape
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


_BUTTON_STYLE = ("font:inherit; font-size:14px; padding:4px 12px; min-height:40px; background:white; "
                 "color:rgb(49,51,63); border:1px solid rgba(49,51,63,0.2); border-radius:8px; cursor:pointer; "
                 "display:inline-flex; align-items:center; gap:8px")


def png_download(*, frame_title: str, file_name: str, label: str, selector: str = "svg") -> None:
    """A button that saves, as a PNG, the first element matching `selector` (an SVG) inside the view
    embedded in this page with the title `frame_title` (see embed). The browser draws it: the server has
    no drawing engine. The button lives in the page itself (st.html with its script), which can read
    the view's iframe (same origin); static/png_export.js does the work, offline."""
    arguments = json.dumps([frame_title, selector, file_name])
    button = "png-" + hashlib.sha1(arguments.encode()).hexdigest()[:12]
    # st.html drops inline SVG (even inside a script's strings), so png_export.js draws the icon.
    st.html(f'<button id="{button}" title="Save the picture as PNG" style="{_BUTTON_STYLE}">{escape(label)}</button>'
            f'<span id="{button}-status" style="font-size:13px; color:#a33; margin-left:8px"></span>\n'
            + inline_script(static_text("png_export.js"))
            + inline_script(f'pngButton("{button}", ...{arguments});'),
            width="content", unsafe_allow_javascript=True)
