"""The Pre-training pages' visuals: probability bars, the lens heatmap, pinned words' curves, the
masking simulator's controls and table, and the message for a model without a head. Text drawn by
plotly (labels, tokens, titles) goes through `plain`, so a visitor's markup shows as typed."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app.inputs import escape_markdown

from .figure_download import figure_download
from .plotly_text import plain, plain_all


def probability_bars(*, labels: list[str], probabilities: list[float], title: str, key: str,
                     x_title: str = "probability", whole_range: bool = False) -> None:
    """Horizontal bars, the first label on top; labels are shown as plain text (plotly does not read Markdown).
    The axis runs to just past the longest bar, or from 0 to 1 with whole_range."""
    figure = go.Figure(go.Bar(x=probabilities, y=plain_all(labels), orientation="h", marker_color="#3b6fb6",
                              text=[f"{p:.3f}" for p in probabilities], textposition="auto",
                              hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    figure.update_layout(title=dict(text=plain(title), font=dict(size=14)), height=60 + 32 * len(labels),
                         xaxis=dict(title=x_title, range=[0, 1 if whole_range else
                                                          max(max(probabilities, default=0), 1e-9) * 1.1]),
                         yaxis=dict(autorange="reversed", type="category"), margin=dict(t=40, l=10, r=10, b=10))
    st.plotly_chart(figure, key=f"{key}_chart")


def lens_heatmap(*, tokens: list[list[str]], probabilities: np.ndarray, title: str, key: str) -> go.Figure:
    """Layers (rows, 1 at the top) × ranks (columns): the token at each rank, coloured by its probability.
    tokens[l][r] and probabilities (L, k)."""
    layers = [str(n) for n in range(1, len(tokens) + 1)]
    ranks = [str(r) for r in range(1, probabilities.shape[1] + 1)]
    text = [[f"{plain(token)}<br>{p:.3f}" for token, p in zip(row, values, strict=True)]
            for row, values in zip(tokens, probabilities, strict=True)]
    figure = go.Figure(go.Heatmap(z=probabilities, x=ranks, y=layers, text=text, texttemplate="%{text}",
                                  colorscale="Blues", zmin=0, zmax=max(float(probabilities.max()), 1e-9),
                                  colorbar=dict(title="P"),
                                  hovertemplate="layer %{y}, rank %{x}: %{text}<extra></extra>"))
    figure.update_layout(title=dict(text=plain(title), font=dict(size=14)), xaxis_title="rank", yaxis_title="layer",
                         yaxis=dict(autorange="reversed", type="category"), xaxis=dict(type="category"),
                         height=80 + 44 * len(layers), margin=dict(t=40, l=10, r=10, b=10))
    st.plotly_chart(figure, key=f"{key}_chart")
    figure_download(figure=figure, file_name=f"{key}.html", key=key)
    return figure


def pinned_curves(*, words: list[str], ranks: np.ndarray, probabilities: np.ndarray, key: str) -> None:
    """Two charts side by side: each pinned word's rank (log scale, 1 at the top) and probability at
    layers 1…L. ranks and probabilities: (L, P)."""
    layers = list(range(1, ranks.shape[0] + 1))
    left, right = st.columns(2)
    for column, values, title, axis in ((left, ranks, "Rank (1 = the top prediction)", dict(type="log",
                                                                                              autorange="reversed")),
                                        (right, probabilities, "Probability", dict(rangemode="tozero"))):
        figure = go.Figure([go.Scatter(x=layers, y=values[:, i], name=plain(word), mode="lines+markers")
                            for i, word in enumerate(words)])
        figure.update_layout(title=dict(text=title, font=dict(size=14)), xaxis=dict(title="layer", dtick=1),
                             yaxis=axis, height=340, margin=dict(t=40, l=10, r=10, b=10))
        with column:
            st.plotly_chart(figure, key=f"{key}_{'rank' if values is ranks else 'probability'}")


def masking_simulator(*, simulate: Callable[..., list[dict]], key: str) -> list[dict]:
    """Seed, re-roll and whole-word controls (bound to the URL as ?{key}_seed=, ?{key}_wwm=), then one
    draw as a table; returns its rows. simulate(seed=, whole_word=) -> rows as pretraining.simulate_masking's."""
    seed_key = f"{key}_seed"

    def reroll() -> None:
        st.session_state[seed_key] = st.session_state.get(seed_key, 0) + 1

    controls = st.columns([1, 1, 2], vertical_alignment="bottom")
    seed = controls[0].number_input("Seed", min_value=0, max_value=10**6, value=0, step=1, key=seed_key,
                                    bind="query-params")
    controls[1].button("Re-roll", on_click=reroll, key=f"{key}_reroll", help="The next seed: another draw")
    whole_word = controls[2].toggle("Whole-word masking", key=f"{key}_wwm", bind="query-params",
                                    help="Choose whole words: every piece of a chosen word is predicted")
    rows = simulate(seed=int(seed), whole_word=whole_word)
    table = pd.DataFrame(rows)
    chosen = table["label"] != ""
    st.dataframe(table.style.apply(lambda row: ["background-color: #fde2b8" if chosen[row.name] else ""] * len(row),
                                   axis=1),
                 hide_index=True, key=f"{key}_table")
    counts = table.loc[chosen, "what happened"].value_counts()
    st.caption(f"{int(chosen.sum())} pieces chosen (highlighted): "
               + ", ".join(f"{n} {what}" for what, n in counts.items())
               + ". The model is trained to predict the label at the chosen pieces only.")
    return rows


SIMULATOR_PAGE = "app/pages/training_data.py"


def stop_without_head(*, missing: str | None, simulate: Callable[..., list[dict]], key: str) -> None:
    """For a model without the head a page needs (`missing`: why and how to load one, from
    pretraining.missing_head; None when the head is there): say so, show what does work (a link to
    the simulator page, and the masking simulator itself), and stop the page."""
    if missing is None:
        return
    st.warning(escape_markdown(missing[0].upper() + missing[1:]))
    st.page_link(SIMULATOR_PAGE, label="What works without heads: how the training data are made (masking and "
                                       "sentence pairs)", icon=":material/casino:")
    st.subheader("The masking simulator works with this model")
    masking_simulator(simulate=simulate, key=key)
    st.stop()
