"""Tokens and embeddings: word pieces, ids, segments, positions, E = T + S + P, the model card."""
import json

import pandas as pd
import streamlit as st

from app import inputs, services, tokens
from components.job_wait import main_view_drawn
from components.matrix_heatmap import matrix_heatmap
from components.stacked_parts import stacked_parts

selection = st.session_state["selection"]
model = selection.model
enc, parts = services.token_embeddings(selection.model_name, selection.text_a, selection.text_b)
labels = enc.tokens

st.title("Tokens and embeddings")
tokenizer = services.get_model(selection.model_name)[1]
kind = tokens.tokenizer_kind(tokenizer)
st.markdown(
    "BERT does not read words: its tokenizer cuts the text into **pieces** from a fixed "
    f"vocabulary of {model.config.vocab_size:,}. This model's is "
    f"{tokens.TOKENIZER_KINDS.get(kind, inputs.inline_code(kind))}. "
    f"{inputs.inline_code(tokenizer.cls_token)} opens the input and {inputs.inline_code(tokenizer.sep_token)} "
    "closes each sentence; the **segment** says which sentence (A or B) a piece belongs to"
    + (" (this model has no segment embeddings: every piece is in A)" if model.config.type_vocab_size < 2 else "")
    + " and the **position** counts from 0"
    + (f" (RoBERTa's position table starts at row {model.config.position_offset})"
       if model.config.position_offset else "") + ".")

rows = pd.DataFrame(tokens.token_rows(enc))
st.dataframe(rows, hide_index=True, height=min(40 + 35 * len(rows), 560))
st.caption(f"{len(enc)} pieces" + (" (truncated at the model's limit)" if enc.truncated else ""))
main_view_drawn()  # under load, every student's pieces before anyone's rest of the page

with st.expander("The tokenizer, step by step", expanded=False):
    st.dataframe(pd.DataFrame(tokens.tokenizer_steps(tokenizer, selection.text_a, selection.text_b)),
                 hide_index=True)
    st.caption("The checkpoint's own tokenizer (its tokenizer.json), stage by stage: the **normaliser** cleans the "
               "text (an uncased BERT lower-cases and strips accents: Café Dupont → cafe dupont; a cased one "
               "leaves it), the **pre-tokeniser** splits it into words (byte-level BPE first maps bytes to "
               "letters: a space becomes Ġ; SentencePiece marks each word's start with ▁), the **model** cuts "
               "each word into vocabulary pieces, and the **post-processor** adds the special tokens. '|' "
               "separates sentence A from B.")

st.header("The input embedding: E = T + S + P, then LayerNorm")
st.markdown(
    "Each piece looks up three learned vectors of the model's width and adds them: its **token** "
    "embedding T (one row per vocabulary entry), its **segment** embedding S (A or B) and its "
    "**position** embedding P (one per position 0…511). LayerNorm then rescales the sum; that is "
    "what layer 1 reads.")
view = st.radio("Show", ["Size of each part (norm ‖·‖)", "Share of E carried by each part"], horizontal=True,
                key="tokens_view")
norms = tokens.part_norms(parts)
if view.startswith("Size"):
    stacked_parts(tokens=labels, parts={tokens.PART_LABELS[p]: norms[p] for p in ("token", "segment", "position")},
                  totals={"‖E‖, the norm of the sum": norms["summed"]},
                  title="Norm of each part, per piece (bars stack; black mark: the norm of their sum E)",
                  y_title="Euclidean norm", key="tokens_norms")
    st.caption("The bars add the parts' lengths; ‖E‖ is shorter than their total because the parts point in "
               "different directions. LayerNorm then standardises each piece's vector (mean 0, variance 1 over "
               "its dimensions) and applies a learned gain and bias per dimension: after it the norms are "
               f"{norms['normalized'].min():.1f}–{norms['normalized'].max():.1f}.")
else:
    shares = tokens.part_shares(parts)
    stacked_parts(tokens=labels, parts={tokens.PART_LABELS[p]: shares[p] for p in shares}, totals={},
                  title="Share of E along each part: ⟨part, E⟩ / ‖E‖² (the three add up to 1)",
                  y_title="share of E", key="tokens_shares")
    st.caption("A part's share is the length of its shadow on E, as a fraction of E. Negative: it points away from E.")

width = model.config.embedding_width  # E: hidden_size, or ALBERT's/ELECTRA's smaller embedding width
dims = st.slider("Dimensions shown", 4, width, min(32, width), key="dims",
                 bind="query-params")  # ?dims= in the link
part = st.selectbox("Vector", list(tokens.PART_LABELS), format_func=tokens.PART_LABELS.get, index=3, key="tokens_part")
matrix_heatmap(values=parts[part][:, :dims], rows=labels, columns=[str(d) for d in range(dims)],
               title=f"{tokens.PART_LABELS[part]}: the first {dims} of {width} dimensions",
               key="tokens_vectors")

st.header("The model")
card, family = st.columns([1, 2])
with card:
    card = {name: f"{value:,}" if isinstance(value, int) else value for name, value in tokens.model_card(model).items()}
    st.dataframe(pd.DataFrame(card.items(), columns=["", selection.model_name]), hide_index=True)
with family:
    st.dataframe(pd.DataFrame(services.size_family(selection.model_name)), hide_index=True,
                 column_config={"parameters": st.column_config.NumberColumn(format="localized")})
    st.caption("The BERT size family (Turc et al. 2019: tiny … medium; Devlin et al. 2019: base, large), "
               "parameters of the encoder, embeddings and pooler counted by building each model on PyTorch's "
               "meta device; this model's count comes from its own tensors.")



def vectors_json() -> str:  # built only when the button is pressed: 5 × T × H numbers
    return json.dumps({"tokens": labels, **{p: parts[p].round(6).tolist() for p in tokens.PARTS}})


table = rows.assign(**{f"norm_{p}": norms[p] for p in tokens.PARTS})
one, two = st.columns(2)
one.download_button("Pieces and norms (CSV)", table.to_csv(index=False), "tokens.csv", "text/csv",
                    on_click="ignore", icon=":material/download:")
two.download_button("Embedding vectors (JSON)", vectors_json, "embeddings.json", "application/json",
                    on_click="ignore", icon=":material/download:")
