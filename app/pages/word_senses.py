"""Word senses at scale: how well a word's senses separate at each layer, and its vectors projected."""
import hashlib
import json
from pathlib import Path

import pandas as pd
import streamlit as st

from app import inputs, polysemy, services
from app.vectors import ProjectionError
from components.layer_heatmap import layer_heatmap
from components.layer_lines import layer_lines
from components.projection import projection_scatter

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "senses_example.tsv"
MAX_ROWS = 10_000  # the CLI takes any number

selection = st.session_state["selection"]
L = selection.model.config.num_hidden_layers

st.title("Word senses across layers")
st.markdown(
    "A table of sentences, each with a target word and (optionally) its sense. Each occurrence's vector is "
    "the **mean of its word pieces**, at every layer (**layer 0 = embedding output**); the target is the "
    "**first whole-word, case-insensitive** occurrence of the word. Senses separate well where "
    "**leave-one-out 1-nearest-neighbour accuracy by cosine** is high: each occurrence takes the sense of its "
    "most similar other occurrence of the same word (ties go to the **earliest row**). The numbers are those "
    "of `python -m app polysemy --data FILE --json OUT.json`.")

# Bound to the URL: ?source=&words=&word=&layer=&projection=&dims= (a value equal to its default stays out).
source = st.radio("Table", ["Example set (12 ambiguous words, written for this project)", "Upload a table"],
                  horizontal=True, key="source", bind="query-params")
if source.startswith("Upload"):
    st.caption("An uploaded table cannot travel in a link: a shared link opens this page at the upload, and the "
               "word, layer and projection it names apply once the same table is uploaded.")
    upload = st.file_uploader("CSV or TSV with a header row: word, sense (optional), sentence",
                              type=["csv", "tsv", "txt"], key="ws_upload")
    if upload is None:
        st.info("Upload a table to analyse, e.g. a TSV with the columns `word`, `sense`, `sentence`.")
        st.stop()
    data, name = upload.getvalue(), upload.name
else:
    data, name = EXAMPLE.read_bytes(), EXAMPLE.name
shown_name = inputs.escape_markdown(name)  # a file's name is the uploader's text

try:
    table = polysemy.read_table(data, name)
except polysemy.TableError as err:
    st.error(f"{shown_name} cannot be read: {err}.")
    st.stop()
if table.skipped:
    with st.expander(f"{len(table.skipped)} row(s) skipped (line numbers of the file; the header is line 1)"):
        st.dataframe(pd.DataFrame([vars(s) for s in table.skipped]), hide_index=True)
if not table.rows:
    st.error(f"{shown_name} has no usable rows: every row was skipped (see why above).")
    st.stop()
if len(table.rows) > MAX_ROWS:
    st.warning(f"{shown_name} has {len(table.rows):,} usable rows; the page analyses the first {MAX_ROWS:,}. "
               "`python -m app polysemy` takes them all.")
digest = hashlib.sha256(data).hexdigest()

table, analysis = services.word_senses(digest, name, selection.model_name, MAX_ROWS, _data=data)
for note in polysemy.summary_messages(analysis, table):
    st.warning(note[0].upper() + note[1:] + ".")
late = [s for s in analysis.skipped if s not in table.skipped]
if late:
    st.warning(f"{len(late)} row(s) left out because the word lies beyond the model's 512 word pieces: "
               f"lines {', '.join(str(s.line) for s in late[:20])}{' …' if len(late) > 20 else ''}.")
if not analysis.rows:
    st.error("No occurrence could be analysed.")
    st.stop()

words = list(analysis.words)
a, b, c = st.columns(3)
a.metric("Occurrences", f"{len(analysis.rows):,}")
b.metric("Words", len(words))
c.metric("Rows skipped", len(analysis.skipped))

if table.has_senses and analysis.layers[0]["accuracy"] is not None:
    st.subheader("Sense accuracy against layer")
    overall = [entry["accuracy"] for entry in analysis.layers]
    per_word = {w: [entry["per_word"][w] for entry in analysis.layers] for w in words}
    shown = st.multiselect("Words drawn", words, default=words[:6], key="words", bind="query-params")
    layer_lines(series={"all words": overall, **{w: per_word[w] for w in shown}},
                references={"layer 0 (embedding output) baseline": [overall[0]] * (L + 1)},
                title="Leave-one-out 1-NN sense accuracy (cosine)", y_title="accuracy", key="ws_accuracy",
                y_range=(0, 1.02))
    st.caption("Overall accuracy counts every occurrence of the words that have two or more senses. "
               "Layer 0 is the static baseline: there a word's vector differs between sentences only by its "
               "position embedding.")
    layer_heatmap(values={"all words": overall, **per_word}, value_name="accuracy", key="ws_accuracy_grid",
                  title="Sense accuracy, word × layer (blank: one sense only, not scored)")
    scores = pd.DataFrame({"word": ["all words", *words],
                           **{f"layer {e['layer']}": [e["accuracy"], *[e["per_word"][w] for w in words]]
                              for e in analysis.layers}}).round(3)
    with st.expander("The same numbers as a table"):
        st.dataframe(scores, hide_index=True)
        st.download_button("Accuracy table (CSV)", scores.to_csv(index=False), "polysemy_accuracy.csv", "text/csv",
                           on_click="ignore", icon=":material/download:")
st.download_button("Scores (JSON, as the CLI writes them)", json.dumps(analysis.to_json(), indent=1),
                   "polysemy_scores.json", "application/json", on_click="ignore", icon=":material/download:")

st.subheader("One word, projected")
word = st.selectbox("Word", words, key="word", bind="query-params")
rows = [i for i, r in enumerate(analysis.rows) if r.word.lower() == word]
left, middle, right = st.columns(3)
layer = left.slider("Layer", 0, L, L, key="layer", bind="query-params")
method = middle.radio("Projection", ["PCA", "UMAP"], horizontal=True, key="projection", bind="query-params")
dims = 3 if right.radio("Dimensions", ["2-D", "3-D"], horizontal=True, key="dims", bind="query-params") == "3-D" else 2
points = analysis.vectors[rows, layer]
try:
    coords = services.projection(digest, selection.model_name, word, layer, method.lower(), dims, _points=points)
except ProjectionError as err:
    st.info(f"{err}: showing PCA instead.")
    method, coords = "PCA", services.projection(digest, selection.model_name, word, layer, "pca", dims, _points=points)
senses = [analysis.rows[i].sense or word for i in rows]
sentences = [analysis.rows[i].sentence for i in rows]
projection_scatter(coords=coords, labels=senses, hover=sentences, key="ws_projection",
                   axis_prefix="UMAP" if method == "UMAP" else "PC",
                   title=f"“{word}” at layer {layer}, {method} ({len(rows)} occurrences)")
if table.has_senses and analysis.words[word]["within"][0] is not None:
    layer_lines(series={"within senses": analysis.words[word]["within"],
                        "between senses": analysis.words[word]["between"]},
                title=f"Mean cosine similarity of “{word}” occurrences", y_title="mean cosine", key="ws_within")

vectors = pd.DataFrame(points, columns=[f"d{k}" for k in range(points.shape[1])])
vectors.insert(0, "sentence", sentences)
vectors.insert(0, "sense", senses)
vectors.insert(0, "line", [analysis.rows[i].line for i in rows])
projected = vectors[["line", "sense", "sentence"]].assign(**{f"{method.lower()}{k + 1}": coords[:, k]
                                                             for k in range(dims)})
one, two = st.columns(2)
one.download_button(f"Vectors of “{word}” at layer {layer} (CSV)", vectors.to_csv(index=False),
                    f"{word}_layer{layer}_vectors.csv", "text/csv", on_click="ignore", icon=":material/download:")
two.download_button("Projection (CSV)", projected.to_csv(index=False), f"{word}_layer{layer}_{method.lower()}.csv",
                    "text/csv", on_click="ignore", icon=":material/download:")
