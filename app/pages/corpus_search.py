"""Search a corpus by example: the occurrences nearest a word of the sidebar sentence, and a map of a word's uses."""
import hashlib
import html
import json
from collections import Counter
from pathlib import Path

import pandas as pd
import streamlit as st

from app import corpus_index, inputs, services
from app.corpus import CorpusError
from bert_core import encode
from components.occurrence_map import occurrence_map

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "senses_example.tsv"
SOURCES = ["Built-in sample", "Upload a corpus", "Open an index folder"]
FILTERS = ["all words", "same word only", "other words only"]
MAP_LIMIT = 50_000  # occurrences drawn in the map
escape = inputs.escape_markdown

selection = st.session_state["selection"]
L = selection.model.config.num_hidden_layers

st.title("Search a corpus")
st.markdown(
    "exBERT-style search by example: pick a word of the sidebar sentence and a layer; the page finds the corpus "
    "words whose vectors are nearest it. The results are exactly those of `python -m app search --index DIR "
    "--text … --word … --layer L --json OUT.json`; build your own index with `python -m app index` (README).")
with st.expander("Conventions", expanded=False):
    st.markdown(
        "- A word's vector is the **mean of its word pieces** at a layer; **layer 0 is the embedding output**. "
        "Vectors are stored as **float16**.\n"
        "- **Words**: a CoNLL-U file's own words (with their UPOS and relation); text is split as the sidebar "
        "sentence is (whitespace, then punctuation).\n"
        "- **Similarity** is the **cosine** of the raw vectors, highest first. Search is **exact** below "
        f"{corpus_index.EXACT_BELOW:,} words; larger indexes use an **IVF index** whose recall@10 against the "
        "exact search is measured when it is built (shown below).\n"
        "- The query sentence is not removed from the results: if the corpus holds it, its own word comes "
        "first with similarity 1.")

# Where the index comes from (bound to the URL); the layers an index built here holds: 0, the middle, the top.
source = st.radio("Index", SOURCES, key="cs_source", bind="query-params", horizontal=True,
                  captions=["262 sentences written for this project (word senses)",
                            "CoNLL-U, or text with one sentence per line", "built by python -m app index"])
build_layers = tuple(sorted({0, L // 2, L}))
if source == "Open an index folder":
    if services.server_access().classroom:
        st.error("This classroom server does not open folders on its disk; use the built-in sample or an upload.")
        st.stop()
    folder = st.text_input("Index folder (on this machine)", key="cs_folder").strip()
    if not folder:
        st.info("Type the folder you gave to `python -m app index --out`.")
        st.stop()
else:
    if source == "Upload a corpus":
        upload = st.file_uploader("Corpus file", type=["conllu", "conll", "txt", "csv", "tsv"], key="cs_upload")
        if upload is None:
            st.info("Upload a CoNLL-U treebank, a text file with one sentence per line, or a CSV/TSV with a "
                    "'sentence' or 'text' column. A link to this page does not carry the file.")
            st.stop()
        name, data = upload.name, upload.getvalue()
    else:
        name, data = SAMPLE.name, SAMPLE.read_bytes()
    try:
        folder = services.built_corpus_index(selection.model_name, hashlib.sha256(data).hexdigest(), name,
                                             build_layers, _data=data)
    except CorpusError as err:
        st.error(f"{escape(name)} cannot be indexed: {escape(str(err))}.")
        st.stop()

stamp = services.index_stamp(folder)
try:
    index = services.open_corpus_index(folder, stamp)
    index.check_model(selection.model_name)
except corpus_index.CorpusIndexError as err:
    st.error(escape(str(err)))
    st.stop()

manifest = index.manifest
ann = manifest.get("ann") or {}
a, b, c, d = st.columns(4)
a.metric("Sentences", f"{manifest['corpus']['sentences']:,}")
b.metric("Words", f"{index.rows:,}")
c.metric("Layers", ", ".join(map(str, index.layers)))
recall = ann.get("recall_at_10", {})
d.metric("Search", "IVF (ANN)" if ann else "exact",
         help=("recall@10 against exact search, per layer: " + ", ".join(f"{k}: {v:.1%}" for k, v in recall.items()))
         if ann else "every stored word is compared with the query")

# The query: a word of the sidebar sentence (sentence A) and a layer the index holds.
words = encode(selection.tokenizer, selection.text_a).words
if not words:
    st.error("The sidebar sentence has no words to search with.")
    st.stop()
left, middle, right = st.columns([2, 1, 1])
position = left.selectbox("Word of the sidebar sentence", range(len(words)), key="cs_word",
                          format_func=lambda i: f"{words[i].text}  (word {i + 1})",
                          index=len(words) - 1)
layer = middle.selectbox("Layer", index.layers, index=len(index.layers) - 1, key="cs_layer", bind="query-params")
k = right.number_input("Results", min_value=1, max_value=200, value=10, key="cs_k")
query_text = words[position].text
tags = manifest.get("upos_tags", [])
f1, f2 = st.columns(2)
which = f1.radio("Keep", FILTERS, horizontal=True, key="cs_filter")
chosen_tags = f2.multiselect("UPOS", tags, key="cs_upos", disabled=not tags,
                             help="Only the corpus's CoNLL-U files carry tags" if tags else "This corpus has no tags")
where = corpus_index.filter_sql(word=query_text, same_word=None if which == FILTERS[0] else which == FILTERS[1],
                                upos=chosen_tags)
query, hits = services.corpus_search(folder, stamp, selection.model_name, selection.text_a, position, layer, int(k),
                                     where)

st.subheader(f"Nearest occurrences of “{escape(query['word'])}” at layer {layer}")
if not hits:
    st.warning("No corpus word passes these filters.")
else:
    table = pd.DataFrame([{
        "similarity": h.similarity,
        "left": h.sentence[max(0, h.start - 60):h.start], "word": h.sentence[h.start:h.end],
        "right": h.sentence[h.end:h.end + 60], "UPOS": h.upos, "sentence_id": h.sentence_id,
        "word_index": h.word_index, "source": h.source} for h in hits])
    st.dataframe(table, hide_index=True, column_config={
        "similarity": st.column_config.NumberColumn(format="%.3f"),
        "left": st.column_config.TextColumn(width="large"), "right": st.column_config.TextColumn(width="large")})
    same = sum(h.word.lower() == query["word"].lower() for h in hits)
    common = Counter(h.word.lower() for h in hits).most_common(5)
    summary = (f"{same} of {len(hits)} neighbours are “{escape(query['word'])}” itself; most frequent words: "
               + ", ".join(f"{escape(w)} ({n})" for w, n in common))
    tag_counts = Counter(h.upos for h in hits if h.upos)
    if tag_counts:
        summary += "; tags: " + ", ".join(f"{t} ({n})" for t, n in tag_counts.most_common(5))
    st.markdown(summary + ".")
    payload = {"index": folder, "layer": layer, "query": query, "results": [h.to_json() for h in hits]}
    st.download_button("Results (JSON, as the CLI writes them)", json.dumps(payload, indent=1),
                       file_name="search.json", mime="application/json", icon=":material/download:",
                       on_click="ignore")

st.subheader("Every occurrence of a word")
st.caption("Context-Atlas style: each point is one occurrence in the corpus, placed by its vector at the chosen "
           "layer. Clusters are k-means on the unit vectors (k from 2 to 6 by silhouette). Hover for the sentence.")
m1, m2, m3 = st.columns(3)
map_word = m1.text_input("Word", query["word"], key="cs_map_word").strip()
method = m2.radio("Projection", ["pca", "umap"], horizontal=True, key="cs_method",
                  format_func=str.upper)
colour_options = ["cluster", "UPOS", "relation", "source file"]
colour = m3.selectbox("Colour by", colour_options, key="cs_colour")
if map_word:
    rows, coords, groups = services.occurrence_map(folder, stamp, map_word, layer, method, MAP_LIMIT)
    if not rows:
        st.info(f"“{escape(map_word)}” does not occur in the corpus (whole words, any case).")
    elif method == "umap" and len(rows) < 5:
        st.info("UMAP needs at least 5 occurrences; PCA draws fewer.")
    else:
        by = {"cluster": [f"cluster {g + 1}" for g in groups], "UPOS": [r["upos"] or "no tag" for r in rows],
              "relation": [r["deprel"] or "no relation" for r in rows],
              "source file": [r["source"].rsplit(":", 1)[0] for r in rows]}[colour]
        occurrence_map(coords=coords, labels=by, hover=[r["sentence"] for r in rows], key="cs_map",
                       axis_prefix="PC" if method == "pca" else "UMAP",
                       title=f"{len(rows):,} occurrences of “{html.escape(map_word)}” at layer {layer}")
        if len(rows) >= MAP_LIMIT:
            st.caption(f"The first {MAP_LIMIT:,} occurrences are drawn.")
