"""Syntactic heads on a treebank: Clark et al.'s table for every relation, in both directions."""
import hashlib
import json

import numpy as np
import pandas as pd
import streamlit as st

from app import heads, inputs, services, syntax
from app.conllu import ConlluError
from components.head_grid import head_grid
from components.relation_bars import relation_bars
from components.skipped_sentences import skipped_sentences

DIRECTIONS = ["dependent → head", "head → dependent"]
SOURCES = ["Built-in sample", "Upload a CoNLL-U file", "Raw text"]

selection = st.session_state["selection"]

st.title("Syntactic heads: a treebank")
st.markdown(
    "Which attention heads find a word's syntactic head (Clark et al. 2019, §4)? Every head is read as a "
    "parser and scored per relation against the best **fixed-offset baseline**. The numbers are exactly those of "
    "`python -m app probe --conllu FILE --json OUT.json`.")
with st.expander("Conventions", expanded=True):
    st.markdown(
        "- **Words** are the treebank's words: multi-word-token ranges (`1-2`) and empty nodes (`1.1`) are skipped.\n"
        "- Attention **to** a word split into pieces is the **sum** over its pieces, **from** it the **mean** over "
        "its pieces. **[CLS] and [SEP] are removed** (no renormalisation) and a word's **attention to itself is set "
        "to zero** before the argmax; **ties go to the leftmost word**. A word the tokenizer drops has no guess "
        "(a miss).\n"
        "- **dependent → head**: for each dependent *d* with head *h*, the guess is the word *d* attends to most; "
        "right if it is *h*. **head → dependent** (Clark's transposed reading): the guess is the word that "
        "attends most to *d*; right if it is *h*. Both directions score the same instances.\n"
        "- **Relations** are the DEPREL strings as written (subtypes kept, e.g. `nmod:poss`), plus `all`; "
        "**root and punct are left out** (also from `all`).\n"
        "- **Baseline**: the best fixed offset in −3…+3 (not 0) per relation, guessing the word that many "
        "positions away; an offset falling **outside the sentence counts as wrong**; ties: −1, +1, −2, +2, −3, +3.\n"
        "- **Best head**: highest accuracy; ties go to the **lowest layer, then the lowest head**. Heads are "
        "written layer-head counting from 1.\n"
        "- Sentences over **510 word pieces** are skipped and counted, as are malformed ones.\n"
        "- **Held-out estimate**: the head (and the offset) is chosen on the even-indexed sentences (0th, 2nd, …) "
        "and scored on the odd-indexed ones. The main table, like Clark's, chooses and scores on the same data, "
        "which flatters the best head.")

# The source, the direction and the relation are bound to the URL (?sc_source=…&sc_direction=…&sc_relation=…),
# so a link reopens this view; a value that does not fit falls back to the default.
source = st.radio("Treebank", SOURCES, key="sc_source", bind="query-params", horizontal=True,
                  captions=["30 sentences written for this project", "gold trees, e.g. a UD treebank's dev set",
                            "one sentence per line, parsed by spaCy (silver)"])
if source == "Upload a CoNLL-U file":
    st.caption("A link to this page keeps the choice of an upload, not the file: whoever opens it uploads the file "
               "again.")
    upload = st.file_uploader("CoNLL-U treebank (gold trees)", type=["conllu", "conll", "txt"], key="sc_upload")
    if upload is None:
        st.info("Upload a CoNLL-U file, e.g. a Universal Dependencies treebank's dev set.")
        st.stop()
    kind, name, data = "conllu", upload.name, upload.getvalue()
elif source == "Raw text":
    with st.form("sc_text_form"):
        text = st.text_area("Sentences, one per line", height=160, key="sc_text",
                            value="The quick brown fox jumps over the lazy dog.\nMy sister reads a book every week.")
        st.form_submit_button("Parse and probe", type="primary")
    kind, name, data = "text", "the text", text.encode("utf-8")
    st.caption("spaCy's parses are **silver**: a parser's guesses, not hand-checked trees; labels are spaCy's "
               f"English (ClearNLP) set. Up to {syntax.MAX_PAGE_SENTENCES:,} sentences. A link to this page keeps "
               "the choice of raw text, not the text itself.")
else:
    kind, name, data = "conllu", syntax.SAMPLE_TREEBANK.name, syntax.SAMPLE_TREEBANK.read_bytes()
    st.caption("The sample was parsed by spaCy and every arc checked by hand; its labels are spaCy's set.")
shown_name = inputs.escape_markdown(name)  # a file's name is the uploader's text

digest = hashlib.sha256(data).hexdigest()
try:
    result = services.syntax_corpus(selection.model_name, kind, digest, syntax.MAX_PAGE_SENTENCES, _data=data)
except ConlluError as err:
    st.error(f"{shown_name} cannot be read: {err}.")
    st.stop()
skipped_sentences(notes=result.notes, source=name, count=result.skipped)
if result.sentences == 0:
    st.error(f"No sentence of {shown_name} could be analysed.")
    st.stop()
payload = result.to_json()
if not payload["relations"]:
    st.error(f"{shown_name} has no scored words: every word is a root or punctuation.")
    st.stop()

a, b, c = st.columns(3)
a.metric("Sentences analysed", f"{result.sentences:,}")
b.metric("Skipped", f"{result.skipped:,}")
c.metric("Scored words (all)", f"{payload['relations']['all']['count']:,}")

reading = st.radio("Direction", DIRECTIONS, horizontal=True, key="sc_direction", bind="query-params")
direction = DIRECTIONS.index(reading)
part = payload if direction == 0 else payload["head_to_dependent"]
held = result.held_out(direction)
rows = []
for relation, summary in part["relations"].items():
    out = held.get(relation, {})
    rows.append({"relation": relation, "count": summary["count"], "best head": summary["best_head"],
                 "accuracy": summary["accuracy"], "baseline offset": summary["baseline_offset"],
                 "baseline accuracy": summary["baseline_accuracy"],
                 "held-out head": out.get("best_head"), "held-out accuracy": out.get("accuracy"),
                 "held-out baseline": out.get("baseline_accuracy"), "held-out count": out.get("count")})
table = pd.DataFrame(rows)
st.subheader(f"Best head per relation ({reading})")
relation_bars(table=table, key="sc_bars",
              title="Best head, best offset baseline and held-out estimate per relation (most frequent first)")
st.caption("As in Clark et al. (2019, fig. 5): per relation, the accuracy of the best head, of the best fixed offset, "
           "and of the head chosen on the even-indexed sentences scored on the odd-indexed ones (no bar where a "
           "relation is not in both halves). Hover a bar for the head or the offset.")
percent = st.column_config.NumberColumn(format="percent")
st.dataframe(table, hide_index=True, column_config={
    "accuracy": percent, "baseline accuracy": percent, "held-out accuracy": percent, "held-out baseline": percent})
st.caption("Held-out columns are empty where a relation does not occur in both halves.")

st.subheader("Every head, per relation")
relation = st.selectbox("Relation", list(part["relations"]), key="sc_relation", bind="query-params")
summary = part["relations"][relation]
best = heads.parse_head(summary["best_head"])  # "L-H" counts from 1; the grid takes indices
head_grid(values=np.array(part["heads"][relation]), selected=best, zmin=0, zmax=1, percent=True, key="sc_grid",
          title=f"{relation} ({reading}, {summary['count']:,} words): best {summary['best_head']} "
                f"{summary['accuracy']:.1%}; baseline offset {summary['baseline_offset']:+d} "
                f"{summary['baseline_accuracy']:.1%}")

left, right = st.columns(2)
left.download_button("Results (JSON, as the CLI writes them)", json.dumps(payload, indent=1), file_name="probe.json",
                     mime="application/json", icon=":material/download:", on_click="ignore")
right.download_button("Table (CSV)", table.to_csv(index=False), file_name=f"probe_{syntax.DIRECTIONS[direction]}.csv",
                      mime="text/csv", icon=":material/download:", on_click="ignore")
