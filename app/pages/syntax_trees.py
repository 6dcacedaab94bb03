"""Trees from attention: every head's symmetrised attention decoded into a maximum spanning tree."""
import hashlib
import json

import numpy as np
import pandas as pd
import streamlit as st

from app import inputs, services, syntax, trees
from app.conllu import ConlluError, read_conllu
from app.heads import head_label
from components.dependency_arcs import dependency_arcs
from components.head_grid import head_grid
from components.skipped_sentences import skipped_sentences

SOURCES = ["Built-in sample", "Upload a CoNLL-U file"]

selection = st.session_state["selection"]

st.title("Trees from attention")
st.markdown(
    "Can a whole dependency tree be read off one attention head (Raganato & Tiedemann 2018; Htut et al. 2019)? "
    "Each head's word-level attention is made symmetric and decoded into the **maximum spanning tree** over the "
    "sentence's words; the tree's edges are compared with the gold tree's, ignoring direction (**UUAS**). "
    "The numbers are exactly those of `python -m app trees --conllu FILE --json OUT.json`.")
with st.expander("Conventions", expanded=False):
    st.markdown(
        "- Word-level attention as on the other syntax pages: attention **to** a word is the **sum** over its "
        "pieces, **from** a word the **mean**; **[CLS] and [SEP] are removed**, rows are not renormalised.\n"
        "- For every layer × head, and for each layer's **mean over its heads**, the matrix *A* is symmetrised, "
        "(*A* + *A*ᵀ)/2, and decoded into the undirected **maximum spanning tree** over **all** words "
        "(punctuation included).\n"
        "- **UUAS** = gold undirected edges found ÷ (words − 1), **summed over the corpus** before dividing "
        "(micro-average).\n"
        "- Sentences of **one word** and sentences over **510 word pieces** are skipped and counted, as are "
        "malformed ones.\n"
        "- Baselines on the same sentences: **right-branching** (word *i* – word *i*+1) and a **random tree** "
        "(the maximum spanning tree of random weights, seeded).\n"
        "- **Best head**: highest UUAS; ties go to the lowest layer, then the lowest head (layer-head from 1).\n"
        "- One sentence also shows the **directed** reading: the maximum spanning arborescence of *A* read as "
        "dependent → head, scored by UAS (root included).")

source = st.radio("Treebank", SOURCES, key="st_source", bind="query-params", horizontal=True,
                  captions=["30 sentences written for this project", "gold trees, e.g. a UD treebank's dev set"])
if source == SOURCES[1]:
    st.caption("A link to this page keeps the choice of an upload, not the file.")
    upload = st.file_uploader("CoNLL-U treebank (gold trees)", type=["conllu", "conll", "txt"], key="st_upload")
    if upload is None:
        st.info("Upload a CoNLL-U file, e.g. a Universal Dependencies treebank's dev set.")
        st.stop()
    name, data, digest = upload.name, upload.getvalue(), services.upload_digest(upload)
else:
    name, data = syntax.SAMPLE_TREEBANK.name, syntax.SAMPLE_TREEBANK.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
shown_name = inputs.escape_markdown(name)

try:
    result = services.attention_trees(selection.model_name, digest, syntax.MAX_PAGE_SENTENCES, _data=data)
except ConlluError as err:
    st.error(f"{shown_name} cannot be read: {err}.")
    st.stop()
skipped_sentences(notes=result.notes, source=name, count=result.skipped)
if result.sentences == 0:
    st.error(f"No sentence of {shown_name} could be analysed: each needs two words or more and at most "
             "510 word pieces.")
    st.stop()

payload = result.to_json()
uuas = result.uuas
L, nh = uuas.shape[0], uuas.shape[1] - 1
best_layer, best_head = result.best_head()
a, skipped, b, c, d = st.columns(5)
a.metric("Sentences analysed", f"{result.sentences:,}")
skipped.metric("Skipped", f"{result.skipped:,}")
b.metric(f"Best head {payload['best_head']}", f"{uuas[best_layer, best_head]:.1%}")
c.metric("Right-branching", f"{payload['baselines']['right_branching']:.1%}")
d.metric("Random tree", f"{payload['baselines']['random']:.1%}")

st.subheader("UUAS of every head")
head_grid(values=uuas[:, :nh], selected=(best_layer, best_head), zmin=0, zmax=1, percent=True, key="st_grid",
          title=f"UUAS per layer × head ({result.edges:,} gold edges); best {payload['best_head']} "
                f"{uuas[best_layer, best_head]:.1%}, right-branching {payload['baselines']['right_branching']:.1%}, "
                f"random {payload['baselines']['random']:.1%}")
order = np.argsort(-uuas[:, :nh], axis=None, kind="stable")[:10]      # stable: ties stay in layer, head order
best = pd.DataFrame([{"head": head_label(*divmod(int(i), nh)), "UUAS": float(uuas[:, :nh].flat[i])} for i in order])
means = pd.DataFrame({"layer": range(1, L + 1), "mean of the heads' attention: UUAS": uuas[:, nh]})
left, right = st.columns(2)
percent = st.column_config.NumberColumn(format="percent")
with left:
    st.caption("The ten best heads")
    st.dataframe(best, hide_index=True, column_config={"UUAS": percent})
with right:
    st.caption("Each layer's attention averaged over its heads, then decoded")
    st.dataframe(means, hide_index=True, column_config={"mean of the heads' attention: UUAS": percent})
st.download_button("Results (JSON, as the CLI writes them)", json.dumps(payload, indent=1), file_name="trees.json",
                   mime="application/json", icon=":material/download:", on_click="ignore")

st.subheader("One sentence: the decoded tree against the gold tree")
sentences = [s for s in read_conllu(data, syntax.MAX_PAGE_SENTENCES).sentences if len(s.words) > 1]
labels = [f"{n + 1}: " + " ".join(s.words)[:80] for n, s in enumerate(sentences)]
index = st.selectbox("Sentence", range(len(sentences)), format_func=lambda n: labels[n], key="st_sentence")
left, middle = st.columns(2)
layer = left.selectbox("Layer", range(1, L + 1), index=best_layer, key="st_layer", bind="query-params")
heads = list(range(1, nh + 1)) + ["mean"]
head = middle.selectbox("Head", heads, index=best_head, key="st_head", bind="query-params",
                        help="'mean': the layer's attention averaged over its heads")
column = nh if head == "mean" else head - 1
sentence = sentences[index]
try:
    decoded = services.sentence_trees(selection.model_name, digest, index, _sentence=sentence)
except ValueError as err:
    st.error(f"This sentence cannot be decoded: {err}.")
    st.stop()
gold = trees.gold_edges(sentence)
parents = decoded.parents[layer - 1, column]
guesses = [(int(p), child, (min(child, p), max(child, p)) in gold) for child, p in enumerate(parents) if p >= 0]
hits = sum(g[2] for g in guesses)
directed = trees.directed_tree(decoded.attention[layer - 1, column])
st.caption(f"Above: the gold tree. Below: the maximum spanning tree of layer {layer}, head {head} — green where "
           f"the edge is in the gold tree (either direction), red where not; {hits} of {len(gold)} gold edges "
           f"found (UUAS {hits / len(gold):.1%}). Arrows point away from word 1, where decoding starts: the "
           "tree itself has no direction. Directed reading (maximum spanning arborescence, dependent → head): "
           f"UAS {trees.uas(directed, sentence):.1%}.")
dependency_arcs(words=list(sentence.words), heads=list(sentence.heads), labels=list(sentence.deprels),
                guesses=guesses, key="st_arcs")
