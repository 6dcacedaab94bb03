"""Masked words: BERT's masked-LM head on the sidebar's sentence(s), its guess layer by layer (the
lens), and which of several sentences it finds more natural (PLL-word-l2r)."""
import json
from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from app import inputs, pretraining, services, sidebar, url_state
from bert_core import encode
from components.pretraining_views import (
    lens_heatmap,
    pinned_curves,
    probability_bars,
    stop_without_head,
)

MAX_PLL_SENTENCES = 6
escape = inputs.escape_markdown
selection = st.session_state["selection"]
model, tokenizer = selection.model, selection.tokenizer

st.title("Masked words")
st.markdown(
    "BERT's first pre-training task: guess the hidden word. Type **`[MASK]`** in the sidebar's sentence "
    "(\"Istanbul is a great [MASK] to visit.\") or pick words below; a word of several pieces is masked "
    "whole. Probabilities are softmax(scores / temperature) over the whole vocabulary.")
stop_without_head(missing=pretraining.missing_head(model, "mlm", selection.model_name), key="mw_mask",
                  simulate=partial(pretraining.simulate_masking, tokenizer, selection.text_a, selection.text_b))

words = encode(tokenizer, selection.text_a, selection.text_b).words
# Bound to the URL: ?mask= (the picked words' labels), ?k=, ?temp=, ?targets=, ?pin=, ?pll=.
picked = st.multiselect("Words to mask", range(len(words)), key="mask", bind="query-params",
                        format_func=lambda i: f"{words[i].text} ({i + 1})",
                        help="Besides every [MASK] typed in the sidebar's sentence")
controls = st.columns(4)
k = controls[0].slider("Top k", 1, 20, pretraining.TOP_K, key="k", bind="query-params")
temperature = controls[1].slider("Temperature", 0.1, 5.0, 1.0, step=0.1, key="temp", bind="query-params",
                                 help="Below 1 sharpens the distribution, above 1 flattens it; 1 is the model's own")
typed_targets = controls[2].text_input("Only these words (comma-separated)", key="targets", bind="query-params",
                                       help="Like transformers' fill-mask targets: each listed word's probability "
                                            "within the whole vocabulary; a word of several pieces by its first")
typed_pins = controls[3].text_input("Pin words in the lens (comma-separated)", "city", key="pin",
                                    bind="query-params")

try:
    run = services.fill_mask(selection.model_name, selection.text_a, selection.text_b, tuple(sorted(picked)))
except pretraining.PretrainingError as err:
    st.error(f"Cannot predict: {escape(str(err))}")
    run = None

if run is not None:
    targets, notes = pretraining.target_ids(tokenizer, typed_targets.split(",")) if typed_targets.strip() else (None,
                                                                                                                [])
    for note in notes:
        st.info(escape(note))
    pin_ids, pin_notes = pretraining.target_ids(tokenizer, typed_pins.split(","))
    for note in pin_notes:
        st.info(escape(f"Pinned: {note}"))
    text_a, text_b = pretraining.masked_texts(tokenizer, selection.text_a, selection.text_b, tuple(picked))

    def _open_attention() -> None:
        sidebar.show_sentences(text_a, text_b)
        st.session_state["open_attention"] = True

    st.button("See the masked sentence's attention (Attention views, head view)", on_click=_open_attention,
              icon=":material/visibility:", help="Makes the masked sentence the sidebar's sentence, then opens it")
    if st.session_state.pop("open_attention", False):
        st.switch_page("app/pages/attention.py", query_params=url_state.page_params(view="Head view"))

    tokens = run.masked.encoding.tokens
    for m, position in enumerate(run.masked.positions):
        probs = pretraining.probabilities(run.logits[m], temperature)           # (L, V)
        context = " ".join(tokens[max(1, position - 4):position + 5])
        st.subheader(f"Mask {m + 1}: piece {position} (hid {escape(run.masked.hidden[m])})")
        st.caption(f"… {escape(context)} …")
        final = pretraining.top_k(probs[-1], tokenizer, k, targets)
        left, right = st.columns([2, 3])
        with left:
            probability_bars(labels=[p.token for p in final], probabilities=[p.probability for p in final],
                             title="Listed words" if targets else f"Top {k}", key=f"bars_{m}")
        with right:
            lens = [pretraining.top_k(row, tokenizer, k, targets) for row in probs]
            lens_heatmap(tokens=[[p.token for p in layer] for layer in lens],
                         probabilities=np.array([[p.probability for p in layer] for layer in lens]),
                         title="The lens: the MLM head on each layer's output at this position", key=f"lens_{m}")
        top1 = tokenizer.convert_tokens_to_ids(final[0].token)
        ids = list(dict.fromkeys([top1, *pin_ids]))
        ranks, chances = pretraining.pinned(probs, ids)
        pinned_curves(words=tokenizer.convert_ids_to_tokens(ids), ranks=ranks, probabilities=chances, key=f"pins_{m}")
    st.download_button("Predictions and the lens (JSON, as python -m app fill-mask writes)",
                       lambda: json.dumps(pretraining.fill_mask_json(selection.model_name, run, tokenizer), indent=1),
                       file_name="fill_mask.json", mime="application/json", key="fill_mask_json")
    st.caption(f"Layers 1…{run.num_layers}: the head (dense, GELU, LayerNorm, the tied decoder and its bias) applied "
               "to that layer's output at the masked position only; at the last layer the lens is the model's own "
               "prediction. Temperature 1 and top 5 are what `python -m app fill-mask` writes.")

st.header("Which sentence is more natural?")
st.markdown(
    "**PLL-word-l2r** (Kauf & Ivanova 2023, after Salazar et al. 2020): each word piece in turn is masked, "
    "**together with the later pieces of the same word**, and log P(piece) is read off (natural log). A word's "
    "score is the sum over its pieces, the sentence's PLL the sum over its words: closer to 0 is more "
    "natural to the model. One sentence per line; punctuation counts as a word.")
typed = st.text_area("Sentences", "The keys to the cabinet are on the table.\nThe keys to the cabinet is on the "
                     "table.", key="pll", height=100, bind="query-params")
sentences = [line for line in (inputs.clean_text(x, "Sentence")[0] for x in typed.splitlines()) if line]
if len(sentences) > MAX_PLL_SENTENCES:
    st.warning(f"{len(sentences)} sentences: scoring the first {MAX_PLL_SENTENCES}.")
    sentences = sentences[:MAX_PLL_SENTENCES]
scores = []
for text in sentences:
    try:
        scores.append(services.pseudo_log_likelihood(selection.model_name, text))
    except pretraining.PretrainingError as err:
        st.error(f"Not scored: {escape(text[:60])}: {escape(str(err))}")
if scores:
    columns = st.columns(len(scores))
    for i, (column, score) in enumerate(zip(columns, scores, strict=True)):
        with column:
            st.metric(f"Sentence {i + 1}", f"{score.pll:.2f}")
            st.caption(escape(score.text))
            st.dataframe(pd.DataFrame({"word": [w.word for w in score.words], "score": [w.score for w in score.words],
                                       "pieces": [" ".join(w.pieces) for w in score.words]}),
                         hide_index=True, key=f"pll_{i}")
    st.download_button("Scores (JSON, as python -m app pll writes)",
                       lambda: json.dumps({"model": selection.model_name, "sentences": [x.to_json() for x in scores]},
                                          indent=1), file_name="pll.json", mime="application/json", key="pll_json")
    best = max(range(len(scores)), key=lambda i: scores[i].pll)
    if len(scores) > 1:
        st.success(f"The model finds sentence {best + 1} the most natural (PLL {scores[best].pll:.2f}).")
