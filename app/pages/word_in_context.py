"""Compare a word across sentences: its vector at every layer, cosine similarities, nearest tokens."""
import json

import numpy as np
import pandas as pd
import streamlit as st

from app import inputs, polysemy, services
from components.layer_lines import layer_lines
from components.similarity_heatmap import similarity_heatmap

MAX_SENTENCES = 12
escape = inputs.escape_markdown

selection = st.session_state["selection"]
L = selection.model.config.num_hidden_layers

st.title("A word in context")
st.markdown(
    "Unlike word2vec's one vector per word, BERT gives a word a different vector in every sentence. "
    "The word's vector is the **mean of its word pieces** at each layer; **layer 0 is the embedding "
    "output** (token + position + segment, normalised), layers 1…L the encoder layers. The target is the "
    "first whole-word, case-insensitive occurrence; where a sentence has it more than once, pick which.")


FIRST_PRESET = next(iter(polysemy.PRESETS))


def _use_preset() -> None:
    name = st.session_state["preset"]
    if name in polysemy.PRESETS:
        st.session_state["word"] = name
        st.session_state["sentences"] = "\n".join(polysemy.PRESETS[name])


# Every choice below is bound to the URL (?preset=&word=&sentences=&occ2=&layer=); a value equal to its
# default stays out of it. Inside the form the URL changes when Compare is pressed, as the page does.
st.selectbox("Preset", [*polysemy.PRESETS, "(your own)"], key="preset", on_change=_use_preset, bind="query-params")
with st.form("wic_form"):
    typed_word = st.text_input("Word", FIRST_PRESET, key="word", bind="query-params")
    typed = st.text_area("Sentences that contain it, one per line", "\n".join(polysemy.PRESETS[FIRST_PRESET]),
                         key="sentences", height=130, bind="query-params")
    st.form_submit_button("Compare", type="primary")

# The word is cleaned as the sentences are (zero-width and control characters removed), so a word
# pasted with an invisible character still matches; user text is escaped wherever Markdown shows it.
word, word_notices = inputs.clean_text(typed_word, "Word")
for notice in word_notices:
    getattr(st, notice.level)(notice.text)
shown_word = escape(word)
lines = [inputs.clean_text(line, "sentence")[0] for line in typed.splitlines()]
sentences = [line for line in lines if line]
if not word:
    st.error("Type the word to compare.")
    st.stop()
if len(sentences) > MAX_SENTENCES:
    st.warning(f"{len(sentences)} sentences: comparing the first {MAX_SENTENCES} "
               "(the Word senses page takes thousands).")
    sentences = sentences[:MAX_SENTENCES]

candidates, occurrences, numbers = [], [], []
for number, sentence in enumerate(sentences, start=1):
    spans = polysemy.find_occurrences(sentence, word)
    if not spans:
        st.warning(f"Sentence {number} does not contain “{shown_word}” as a whole word, so it is left out: "
                   f"“{escape(sentence[:120])}”")
        continue
    occurrence = 0
    if len(spans) > 1:
        # ?occ3=2: the second one in sentence 3. The label is the number (it goes into the URL), the
        # caption shows the occurrence in its context.
        occurrence = st.radio(
            f"Sentence {number} has “{shown_word}” {len(spans)} times: which one?", range(len(spans)), horizontal=True,
            key=f"occ{number}", bind="query-params", format_func=lambda k: str(k + 1),
            captions=[f"…{escape(sentence[max(0, a - 25):a])}**{escape(sentence[a:b])}**{escape(sentence[b:b + 25])}…"
                      for a, b in spans])
    candidates.append(sentence)
    occurrences.append(occurrence)
    numbers.append(number)

# Cached by plain values: moving the layer slider below re-uses these numbers, the model does not run again.
compared = []
if len(candidates) > 1:
    comparison = services.word_comparison(selection.model_name, word, tuple(candidates), tuple(occurrences))
    compared = comparison.compared
    for index in sorted(set(range(len(candidates))) - set(compared)):
        st.warning(f"In sentence {numbers[index]} the word lies beyond the model's 512 word pieces, so it is left out.")
labels = [f"S{numbers[i]}" for i in compared]
texts = [candidates[i] for i in compared]
if len(labels) < 2:
    st.error(f"Give at least two sentences that contain “{shown_word}” to compare.")
    st.stop()

vectors, similarities = comparison.vectors, comparison.similarities      # (n, L+1, H), (L+1, n, n)
static_similarity = comparison.static_similarity
st.dataframe(pd.DataFrame({"": labels, "sentence": texts, "word pieces": [" ".join(p) for p in comparison.pieces]}),
             hide_index=True)

layer = st.slider("Layer", 0, L, L, key="layer", bind="query-params")
left, right = st.columns(2)
with left:
    similarity_heatmap(matrix=similarities[layer], labels=labels, hover=texts,
                       title=f"Cosine similarity of “{word}” at layer {layer}", key="wic_heatmap")
with right:
    pairs = [(i, j) for i in range(len(labels)) for j in range(i + 1, len(labels))]
    series = {f"{labels[i]}–{labels[j]}": similarities[:, i, j].tolist() for i, j in pairs}
    static_values = {f"static {labels[i]}–{labels[j]}": static_similarity[i, j] for i, j in pairs}
    if np.ptp(list(static_values.values())) < 1e-6:  # the same pieces everywhere: one line says it all
        static_values = {"static input embedding (every pair)": next(iter(static_values.values()))}
    layer_lines(series=series, references={name: [value] * (L + 1) for name, value in static_values.items()},
                title="Similarity against layer", y_title="cosine similarity", key="wic_lines")
st.caption("Dashed: the static baseline, the cosine of the input word-embedding rows of the pieces "
           "(no position, no context), what a word2vec-style table would give in every sentence.")

st.subheader(f"Nearest vocabulary tokens at layer {layer}")
st.caption("Cosine between the contextual vector and each row of the model's input word-embedding matrix "
           "(embeddings.word_embeddings.weight); special and [unused] tokens are left out.")
vocabulary = services.vocabulary(selection.model_name)
nearest = [polysemy.nearest_tokens(vocabulary, vectors[i, layer]) for i in range(len(labels))]
st.dataframe(pd.DataFrame({"": labels, "sentence": texts,
                           "nearest tokens (cosine)": [", ".join(f"{tok} ({cos:.2f})" for tok, cos in row)
                                                       for row in nearest]}), hide_index=True)

vector_table = pd.DataFrame(
    [[label, text, layer_index, *vectors[i, layer_index]]
     for i, (label, text) in enumerate(zip(labels, texts, strict=True))
     for layer_index in range(L + 1)],
    columns=["label", "sentence", "layer", *[f"d{k}" for k in range(vectors.shape[2])]])
scores = {"word": word, "sentences": dict(zip(labels, texts, strict=True)),
          "similarity_by_layer": similarities.tolist(), "static_similarity": static_similarity.tolist()}
one, two = st.columns(2)
one.download_button("Vectors (CSV)", vector_table.to_csv(index=False), "word_vectors.csv", "text/csv",
                    on_click="ignore", icon=":material/download:")
two.download_button("Similarities (JSON)", json.dumps(scores, indent=1), "word_similarities.json",
                    "application/json", on_click="ignore", icon=":material/download:")
