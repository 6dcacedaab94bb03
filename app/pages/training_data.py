"""How the training data are made: BERT's masking recipe and next-sentence pairs, with any model
(only the tokenizer is needed)."""
from functools import partial

import streamlit as st

from app import inputs, pretraining
from components.pretraining_views import masking_simulator

selection = st.session_state["selection"]
tokenizer = selection.tokenizer

st.title("How the training data are made")
st.markdown(
    "BERT learned from raw text by two tasks whose examples are made automatically. This page makes them "
    "from your sentence with this model's tokenizer; no model weights are used, so it works with any model.")

st.header("1. Masked words")
st.markdown(
    "As Google's `create_pretraining_data.py`: **15 %** of the word pieces (rounded, at least one; never "
    "`[CLS]`/`[SEP]`) are chosen. Each chosen piece becomes **`[MASK]` with probability 0.8**, a **random token** "
    "(any of the vocabulary's entries, uniformly) with **0.1**, and **stays unchanged** with **0.1**; the model "
    "must predict the original piece at every chosen position. *Whole-word masking* chooses whole words "
    "instead (a word that would overshoot the 15 % is skipped). The seed makes a draw repeatable.")
masking_simulator(simulate=partial(pretraining.simulate_masking, tokenizer, selection.text_a, selection.text_b),
                  key="mask")

st.header("2. Sentence pairs for next-sentence prediction")
st.markdown(
    "Sentence A is taken from a document; **half the time B is the sentence that really follows it "
    "(IsNext), half the time a random sentence from another document (NotNext)**. The pair is read as "
    "`[CLS] A [SEP] B [SEP]`, segment id 0 for `[CLS] A [SEP]` and 1 for `B [SEP]`. BERT packed several "
    "sentences into each side; here each side is one sentence of a small corpus written for this app "
    "(`data/nsp_corpus.txt`).")
documents = pretraining.read_corpus()


def _next_pair() -> None:
    st.session_state["pair"] = st.session_state.get("pair", 0) + 1


controls = st.columns([1, 3], vertical_alignment="bottom")
pair_seed = controls[0].number_input("Seed", min_value=0, max_value=10**6, value=0, step=1, key="pair",
                                     bind="query-params")
controls[1].button("Another pair", on_click=_next_pair, key="pair_reroll")
pair = pretraining.make_nsp_pair(documents, int(pair_seed))
label = "IsNext (B follows A)" if pair.is_next else "NotNext (B is a random sentence)"
st.markdown(f"**A:** {inputs.escape_markdown(pair.text_a)}  \n**B:** {inputs.escape_markdown(pair.text_b)}  \n"
            f"**Label:** {label}")
st.dataframe(pretraining.pair_rows(tokenizer, pair), hide_index=True, key="pair_table")
