"""Sentence embeddings: [CLS], mean and max pooling at a chosen layer, their similarities and a 2-D map."""
import hashlib

import pandas as pd
import streamlit as st

from app import inputs, services
from app.sentence_embeddings import EXAMPLE_SENTENCES, POOLINGS
from app.vectors import ProjectionError, cosine_matrix
from components.projection import projection_scatter
from components.similarity_heatmap import similarity_heatmap

MAX_HEATMAP = 60

selection = st.session_state["selection"]
L = selection.model.config.num_hidden_layers

st.title("Sentence embeddings")
st.markdown(
    "One vector per sentence, pooled from the token vectors of a layer (layer 0 = embedding output): "
    "the **[CLS]** token's vector, the **mean** of all tokens the attention mask keeps ([CLS] and [SEP] "
    "included; what all-MiniLM-L6-v2 was trained for, on its last layer), or the **max** over the same tokens.")

# Bound to the URL: ?source=&sentences=&pooling=&layer=&map= (a value equal to its default stays out).
source = st.radio("Sentences", ["Type them", "Upload a file"], horizontal=True, key="source", bind="query-params")
if source == "Type them":
    with st.form("se_form"):
        typed = st.text_area("One sentence per line", value="\n".join(EXAMPLE_SENTENCES), height=200, key="sentences",
                             bind="query-params")
        st.form_submit_button("Embed", type="primary")
    sentences, notices = inputs.sentences_from_lines(typed.splitlines())
else:
    st.caption("An uploaded file cannot travel in a link: a shared link opens this page at the upload, with "
               "its pooling, layer and map.")
    upload = st.file_uploader("A .txt file (one sentence per line) or a .csv/.tsv with a 'sentence' or 'text' "
                              "column (or one you pick)",
                              type=["txt", "csv", "tsv"], key="se_upload")
    if upload is None:
        st.info("Upload a file of sentences.")
        st.stop()
    uploaded = services.uploaded_sentences(services.upload_digest(upload), upload.name,
                                           st.session_state.get("se_upload_column"), upload)
    sentences, notices = uploaded.sentences, uploaded.notices
    if uploaded.column_guessed:
        st.selectbox("Column with the sentences", uploaded.columns, key="se_upload_column",
                     index=uploaded.columns.index(uploaded.column))
for notice in notices:
    getattr(st, notice.level)(notice.text)
if len(sentences) < 2:
    if not any(n.level == "error" for n in notices):
        st.error("Give at least two non-empty sentences to compare.")
    st.stop()

left, right = st.columns(2)
# The short name is the label, as it goes into the URL (?pooling=cls); the help says what each is.
pooling = left.radio("Pooling", list(POOLINGS), horizontal=True, key="pooling", bind="query-params",
                     help="; ".join(f"**{name}**: {text}" for name, text in POOLINGS.items()))
layer = right.slider("Layer", 0, L, L, key="layer", bind="query-params")
embeddings = services.sentence_vectors(tuple(sentences), pooling, selection.model_name)
at_layer = embeddings[:, layer]
labels = [f"S{i + 1}" for i in range(len(sentences))]

if len(sentences) > MAX_HEATMAP:
    st.info(f"{len(sentences)} sentences: the heatmap shows the first {MAX_HEATMAP}; "
            "the map and the downloads have all.")
shown = min(len(sentences), MAX_HEATMAP)
similarity = cosine_matrix(at_layer)
similarity_heatmap(matrix=similarity[:shown, :shown], labels=labels[:shown], hover=sentences[:shown],
                   title=f"Cosine similarity, {POOLINGS[pooling]}, layer {layer}", key="se_heatmap")

method = st.radio("Map", ["PCA", "UMAP"], horizontal=True, key="map", bind="query-params")
digest = hashlib.sha256("\n".join(sentences).encode()).hexdigest()
try:
    coords = services.projection(digest, selection.model_name, pooling, layer, method.lower(), 2, _points=at_layer)
except ProjectionError as err:
    st.info(f"{err}: showing PCA instead.")
    method = "PCA"
    coords = services.projection(digest, selection.model_name, pooling, layer, "pca", 2, _points=at_layer)
projection_scatter(coords=coords, labels=["sentence"] * len(sentences),
                   hover=[f"{label}: {s}" for label, s in zip(labels, sentences, strict=True)], key="se_map",
                   axis_prefix="UMAP" if method == "UMAP" else "PC",
                   point_names=labels if len(labels) <= 40 else None,
                   title=f"The sentences in 2-D ({method} of the layer-{layer} embeddings)")

vectors = pd.DataFrame(at_layer, columns=[f"d{k}" for k in range(at_layer.shape[1])])
vectors.insert(0, "sentence", sentences)
one, two = st.columns(2)
one.download_button("Embeddings (CSV)", vectors.to_csv(index=False), f"sentence_embeddings_{pooling}_layer{layer}.csv",
                    "text/csv", on_click="ignore", icon=":material/download:")
two.download_button("Similarity matrix (CSV)", pd.DataFrame(similarity, index=sentences, columns=sentences).to_csv(),
                    f"sentence_similarity_{pooling}_layer{layer}.csv", "text/csv", on_click="ignore",
                    icon=":material/download:")
