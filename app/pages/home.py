"""Landing page: what the explorer shows and where to start a lesson."""
import streamlit as st

st.title("BERT Explorer")
st.markdown(
    "See how BERT reads a sentence, from the inside. Pick a course example or type your own "
    "sentences in the sidebar (**Run** applies them), then open a page:\n\n"
    "- **Attention**: word pieces and embeddings, bertviz's head and model views, one head step by "
    "step, an overview of every head, and what each head actually contributes (norms, value zeroing).\n"
    "- **Embeddings**: the same word in different contexts, word senses across layers, sentence "
    "embeddings, and your own corpus indexed and searched by example.\n"
    "- **Syntax**: which heads follow grammar, on one sentence or a whole treebank; whole trees decoded "
    "from attention; and probes per layer (tree distance and depth, tags and relations with control "
    "tasks): which layer's vectors to use.\n"
    "- **Pre-training**: masked words (top-k, the guess layer by layer, which sentence is more natural), "
    "the next sentence, and how the training data are made (a checkpoint with the pre-training heads, "
    "such as bert-base-uncased, for the first two).\n"
    "- **The BERT family**: RoBERTa, XLM-R, DistilBERT, ALBERT and ELECTRA beside BERT, two models side "
    "by side, and the flavours' sizes.\n"
    "- **Fine-tuning**: train a classifier on labelled texts with the lecture's three approaches and see "
    "what changed inside; read a fine-tuned checkpoint's task head.\n\n"
    "The address bar keeps the model, the sentences and what you chose on a page (layer, head, word…): "
    "copy it to share the view, and the link reopens it in any browser.\n\n"
    "Everything runs on this machine, with no network; the model is the bundled all-MiniLM-L6-v2 "
    "unless you load another checkpoint folder in the sidebar."
)
st.page_link("app/pages/lesson.py", label="Teach the course step by step: Lesson mode", icon=":material/school:")
