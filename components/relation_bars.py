"""Best head against the baseline, per relation, as grouped bars (Clark et al. 2019, figure 5's look):
for each relation, the best head's accuracy, the best fixed offset's, and the held-out estimate."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from .figure_download import figure_download
from .plotly_text import plain

BARS = (("accuracy", "best head", "#3b6fb6"), ("baseline accuracy", "best offset baseline", "#b0b0b0"),
        ("held-out accuracy", "best head, held out", "#9ecae1"))


def relation_bars(*, table: pd.DataFrame, title: str, key: str) -> go.Figure:
    """table: one row per relation in the order to draw (most frequent first), with the columns
    relation, count, best head, accuracy, baseline offset, baseline accuracy, held-out head,
    held-out accuracy (missing where a relation is not in both halves). Returns the figure."""
    names = [plain(f"{r} ({c:,})") for r, c in zip(table["relation"], table["count"], strict=True)]
    details = {"accuracy": table["best head"].map(lambda h: f"head {h}"),
               "baseline accuracy": table["baseline offset"].map(lambda o: f"offset {o:+d}"),
               "held-out accuracy": table["held-out head"].map(lambda h: f"head {h}" if isinstance(h, str) else "")}
    figure = go.Figure([go.Bar(x=names, y=table[column], name=name, marker_color=color, customdata=details[column],
                               hovertemplate="%{x}<br>" + name + ": %{y:.1%} (%{customdata})<extra></extra>")
                        for column, name, color in BARS])
    figure.update_layout(title=dict(text=plain(title), font=dict(size=14)), barmode="group", height=380,
                         yaxis=dict(title="accuracy", tickformat=".0%", range=[0, 1]),
                         xaxis=dict(title="relation (words)", tickangle=-45),
                         legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"),
                         margin=dict(t=60, l=10, r=10, b=10))
    st.plotly_chart(figure, key=f"{key}_chart")
    figure_download(figure=figure, file_name=f"{key}.html", key=key)
    return figure
