"""Next sentence: P(IsNext) from BERT's NSP head for the sidebar's A/B pair and for other Bs."""
from functools import partial

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app import inputs, pretraining, services, sidebar
from app.examples import EXAMPLES
from components.pretraining_views import probability_bars, stop_without_head

MAX_ALTERNATIVES = 8
selection = st.session_state["selection"]
model, tokenizer = selection.model, selection.tokenizer

st.title("Next sentence")
st.markdown(
    "BERT's second pre-training task: does sentence B follow sentence A? The NSP head reads the **pooled "
    "[CLS] vector**, tanh(W·h + b) of the last layer's [CLS] state (the pooler), and gives two scores; "
    "**P(IsNext)** is their softmax's first entry. Sentence A and B come from the sidebar.")
stop_without_head(missing=pretraining.missing_head(model, "nsp", selection.model_name), key="nsp_mask",
                  simulate=partial(pretraining.simulate_masking, tokenizer, selection.text_a, selection.text_b))

PAIRS = [(a, b) for a, b in EXAMPLES if b] + [("The man went to the store.", "Penguins are flightless.")]


def _use_pair() -> None:
    chosen = st.session_state["nsp_pair"]
    if chosen is not None:
        sidebar.show_sentences(*PAIRS[chosen])


st.selectbox("Course pairs", range(len(PAIRS)), index=None, format_func=lambda i: " / ".join(PAIRS[i]),
             key="nsp_pair", on_change=_use_pair, placeholder="Put a course pair in the sidebar")
typed = st.text_area("Other sentences B to compare (one per line)", "Penguins are flightless.\n"
                     "He bought a gallon of milk.", key="alts", height=90, bind="query-params")
alternatives = [line for line in (inputs.clean_text(x, "B")[0] for x in typed.splitlines()) if line]
if len(alternatives) > MAX_ALTERNATIVES:
    st.warning(f"{len(alternatives)} alternatives: comparing the first {MAX_ALTERNATIVES}.")
    alternatives = alternatives[:MAX_ALTERNATIVES]
if not selection.text_b:
    st.info("Sentence B is empty in the sidebar: type one there (or pick a course pair). The alternatives "
            "below are scored after sentence A.")
candidates = list(dict.fromkeys(([selection.text_b] if selection.text_b else []) + alternatives))
if not candidates:
    st.error("Nothing to compare: give sentence B in the sidebar or at least one alternative.")
    st.stop()
try:
    results = services.next_sentence(selection.model_name, selection.text_a, tuple(candidates))
except pretraining.PretrainingError as err:
    st.error(f"Cannot score these pairs: {inputs.escape_markdown(str(err))}")
    st.stop()

if selection.text_b:
    st.metric("P(IsNext) for the sidebar's A → B", f"{results[0].is_next:.4f}")
probability_bars(labels=[("B (sidebar): " if selection.text_b and i == 0 else "") + r.text_b
                         for i, r in enumerate(results)],
                 probabilities=[r.is_next for r in results], x_title="P(IsNext)", whole_range=True,
                 title=f"After A: {selection.text_a[:80]}", key="nsp_bars")
st.caption("Each bar is one forward of [CLS] A [SEP] B [SEP]; the numbers are those `python -m app nsp` writes.")

st.subheader("The pooled [CLS] vector the head reads")
pooled = results[0].pooled
figure = go.Figure(go.Heatmap(z=pooled[None, :], colorscale="RdBu", zmid=0, zmin=-1, zmax=1,
                              hovertemplate="dimension %{x}: %{z:.3f}<extra></extra>"))
figure.update_layout(height=140, yaxis=dict(showticklabels=False), xaxis_title="dimension",
                     margin=dict(t=10, l=10, r=10, b=10))
st.plotly_chart(figure, key="pooled_chart")
st.caption(f"{len(pooled)} values in (-1, 1) (tanh), for the first pair above; norm {np.linalg.norm(pooled):.2f}.")
