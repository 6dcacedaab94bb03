"""A download button for a plotly figure as a self-contained HTML file (plotly.js inlined, so
it opens with no network). The chart's own modebar saves PNG."""
from __future__ import annotations

from functools import partial

import streamlit as st


def figure_download(*, figure, file_name: str, key: str) -> None:
    st.download_button("Figure (HTML)", data=partial(figure.to_html, include_plotlyjs=True, full_html=True),
                       file_name=file_name, mime="text/html", key=f"{key}_html", on_click="ignore",
                       icon=":material/download:")
