"""Task heads: what a fine-tuned checkpoint's head says about the sidebar's sentence (or a question
and passage): label probabilities, a label per word, or the start/end of an answer span."""
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import inputs, task_outputs
from bert_core import task_head_of
from bert_core.task_heads import QA, SEQUENCE
from components.plotly_text import plain_all

selection = st.session_state["selection"]
head = task_head_of(selection.model)

st.title("Task heads")
st.markdown("A checkpoint fine-tuned for a task carries a **head** on top of the encoder: "
            "`classifier.*` for sequence classification (one label per text) or token classification (one "
            "label per word), `qa_outputs.*` for question answering (a start and an end score per word piece). "
            "The loader keeps it, with the label names of its `config.json` (`id2label`).")
if head is None:
    st.info(f"{inputs.inline_code(selection.model_name)} has no fine-tuning head. Fine-tune one on the "
            "**Fine-tune a classifier** page, or load a checkpoint folder with a head in the sidebar "
            "(e.g. one saved by transformers' BertForSequenceClassification, BertForTokenClassification or "
            "BertForQuestionAnswering).")
    st.page_link("app/pages/finetune.py", label="Fine-tune a classifier", icon=":material/model_training:")
    st.stop()

kind = {SEQUENCE: "sequence classification", QA: "question answering"}.get(head.task, "token classification")
st.caption(f"{inputs.inline_code(selection.model_name)}: a **{kind}** head"
           + (f" with {len(head.labels)} labels." if head.task != QA else "."))

if head.task == SEQUENCE:
    shown = f"“{selection.text_a}”" + (f" / “{selection.text_b}”" if selection.text_b else "")
    probabilities = task_outputs.sequence_probabilities(selection.model, selection.tokenizer, selection.text_a,
                                                        selection.text_b)
    best = max(probabilities, key=probabilities.get)
    st.markdown(f"For the sidebar's {inputs.escape_markdown(shown)}: **{inputs.escape_markdown(best)}** "
                f"({probabilities[best]:.1%}).")
    figure = go.Figure(go.Bar(x=list(probabilities.values()), y=plain_all(probabilities), orientation="h",
                              marker_color="#0072B2", hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    figure.update_layout(title="Label probabilities (softmax of the head's scores)", xaxis=dict(range=[0, 1]),
                         height=140 + 30 * len(probabilities), margin=dict(t=40, l=10, r=10, b=10))
    st.plotly_chart(figure, key="th_sequence")
elif head.task == QA:
    question_default, passage_default = task_outputs.QA_EXAMPLE
    with st.form("th_qa"):
        question = st.text_input("Question", question_default, key="q", bind="query-params")
        passage = st.text_area("Passage", passage_default, key="passage", bind="query-params")
        st.form_submit_button("Answer", type="primary")
    question, notices_q = inputs.clean_text(question, "Question")
    passage, notices_p = inputs.clean_text(passage, "Passage")
    for notice in notices_q + notices_p:
        getattr(st, notice.level)(notice.text)
    if not question or not passage:
        st.error("Give a question and a passage.")
        st.stop()
    try:
        found = task_outputs.answer(selection.model, selection.tokenizer, question, passage)
    except ValueError as err:
        st.error(str(err))
        st.stop()
    st.markdown(f"**Answer:** {inputs.inline_code(found.text)} (pieces {found.span[0]}–{found.span[1]}, "
                f"P(start) × P(end) = {found.score:.3f}).")
    positions = [i for i, keep in enumerate(found.in_passage) if keep]
    labels = plain_all(f"{i}: {found.tokens[i]}" for i in positions)
    figure = go.Figure([go.Bar(x=labels, y=found.start[positions], name="start", marker_color="#0072B2"),
                        go.Bar(x=labels, y=found.end[positions], name="end", marker_color="#D55E00")])
    figure.update_layout(title="Where the answer starts and ends (softmax over the passage's pieces)",
                         barmode="group", yaxis=dict(range=[0, 1]), height=360, margin=dict(t=40, l=10, r=10, b=10),
                         xaxis=dict(type="category"))
    st.plotly_chart(figure, key="th_qa_chart")
else:
    words = task_outputs.word_labels(selection.model, selection.tokenizer, selection.text_a)
    st.markdown("Each word of the sidebar's sentence A with the label the head gives its first word piece:")
    st.markdown(" ".join(f"{inputs.escape_markdown(w.word)} {inputs.inline_code(w.label)}" for w in words))
    st.dataframe(pd.DataFrame([{"word": w.word, "label": w.label, "probability": w.probability} for w in words]),
                 hide_index=True)
