"""Syntactic heads on one sentence: spaCy's tree, and one attention head read as a parser."""
import numpy as np
import pandas as pd
import streamlit as st

from app import heads, services, syntax
from components.dependency_arcs import dependency_arcs
from components.head_grid import head_grid
from components.html import png_download

DIRECTIONS = ["dependent → head", "head → dependent"]

selection = st.session_state["selection"]
config = selection.model.config
L, nh = config.num_hidden_layers, config.num_attention_heads

st.title("Syntactic heads: one sentence")
st.markdown(
    "Clark et al. (2019) read each attention head as a parser: a word's predicted syntactic head is "
    "**the word it attends to most**. Here spaCy (`en_core_web_sm`) parses Sentence A from the sidebar — a "
    "**silver** parse, not a gold one — and, for the layer and head you choose, every word's guess is drawn "
    "under the words: **green** when it is the tree's head, **red** when not, grey dashed for root and punct "
    "(not scored). Words are spaCy's tokens; attention to a word is the **sum** over its pieces, from a word "
    "the **mean**; [CLS] and [SEP] are dropped and a word's attention to itself is set to zero before the "
    "argmax (ties: leftmost word).")
if selection.text_b:
    st.info("This page reads Sentence A only; Sentence B is ignored.")

try:
    analysis, found = services.syntax_sentence(selection.model_name, selection.text_a)
except ValueError as err:
    st.error(f"Sentence A cannot be analysed: {err}. Type a sentence in the sidebar and press **Run**.")
    st.stop()
if found > 1:
    st.info(f"spaCy split the text into {found} sentences; this page analyses the first. "
            "The Treebank page takes many sentences.")

sentence = analysis.sentence
result = analysis.result
overall = result.relation_table(0).get("all")  # start on the head that is best on this sentence
best_layer, best_head = (n + 1 for n in heads.parse_head(overall["best_head"])) if overall else (1, 1)


def pick(layer_index: int, head_index: int) -> None:
    """A click on a grid's cell draws that head: the widgets below take it (and the URL with them)."""
    st.session_state["ss_layer"], st.session_state["ss_head"] = layer_index + 1, head_index + 1


# Bound to the URL (?ss_layer=3&ss_head=7&ss_direction=…, numbered from 1), so a link reopens this view;
# a value that does not fit falls back to the default.
left, middle, right = st.columns(3)
layer = left.selectbox("Layer", range(1, L + 1), index=best_layer - 1, key="ss_layer", bind="query-params")
head = middle.selectbox("Head", range(1, nh + 1), index=best_head - 1, key="ss_head", bind="query-params")
reading = right.radio("Direction", DIRECTIONS, key="ss_direction", bind="query-params",
                      help="dependent → head: the word each word attends to most. head → dependent (Clark's "
                           "'transpose'): for each word, the word that attends most to it.")
direction = DIRECTIONS.index(reading)

guesses = syntax.head_guesses(sentence, analysis.targets[direction, layer - 1, head - 1], direction)
st.subheader(f"Layer {layer}, head {head}")
scored = [g for g in guesses if g[2] is not None]
st.caption(f"Above: spaCy's tree (arrows point at dependents). Below: the head's guesses — "
           f"{sum(g[2] for g in scored)} of {len(scored)} scored words right.")
svg = dependency_arcs(words=list(sentence.words), heads=list(sentence.heads), labels=list(sentence.deprels),
                      guesses=guesses, key="ss_arcs")
stem = f"arcs_layer{layer}_head{head}"
with st.container(horizontal=True):
    st.download_button("Arcs (SVG)", svg, file_name=f"{stem}.svg", mime="image/svg+xml", icon=":material/download:",
                       on_click="ignore")
    png_download(frame_title="ss_arcs: dependency arcs", file_name=f"{stem}.png", label="Arcs (PNG)")

relations = result.relation_table(direction)
if not relations:
    st.warning("No word in this sentence is scored: root and punct are left out.")
    st.stop()
st.subheader(f"Which heads are right, per relation ({reading})")
st.caption(f"Each grid: layers 1…{L} down, heads 1…{nh} across; a cell is the share of the relation's words "
           "that head gets right in this sentence (yellow: all of them). The outlined cell is the head drawn "
           "above; **click a cell** to draw that head. `all` pools every scored word (root and punct are left out).")
accuracy, always = result.head_accuracy(direction), result.heads_always_right(direction)
items = list(relations.items())
for start in range(0, len(items), 3):  # rows of three grids, in the table's order
    for column, (relation, summary) in zip(st.columns(3), items[start:start + 3], strict=False):
        with column:
            right_on_all = len(always[relation])
            head_grid(values=np.array(accuracy[relation]), selected=(layer - 1, head - 1), zmin=0, zmax=1,
                      percent=True, title=f"{relation}: {summary['count']} word{'s' * (summary['count'] > 1)}, "
                                          f"{right_on_all} head{'s' * (right_on_all != 1)} right on all",
                      key=f"ss_grid_{relation}", on_click=pick, height=90 + 30 * L, download=False)

both = [result.heads_always_right(d) for d in (0, 1)]
table = pd.DataFrame([{"relation": relation, "instances": summary["count"],
                       "dependent → head: heads right on all": ", ".join(both[0][relation]) or "none",
                       "head → dependent: heads right on all": ", ".join(both[1][relation]) or "none"}
                      for relation, summary in result.relation_table(0).items()])
with st.expander("The same as a table: the heads right on every instance, both directions"):
    st.dataframe(table, hide_index=True)
    st.caption("Heads are written layer-head, counting from 1.")
st.download_button("Table (CSV)", table.to_csv(index=False), file_name="sentence_heads.csv", mime="text/csv",
                   icon=":material/download:", on_click="ignore")
