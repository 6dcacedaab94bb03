"""BERT Explorer: the router, which streamlit_app.py serves. Pages live in app/pages/; the sidebar is
shared by all of them. Tests run this file (AppTest.from_file("router.py"))."""
import copy

import streamlit as st

from app import lesson_mode
from app.sidebar import render_sidebar
from components.job_wait import page_turn

# A material page_icon would be fetched from fonts.gstatic.com: the emoji favicon stays local.
st.set_page_config(page_title="BERT Explorer", page_icon="🔍", layout="wide")


@st.cache_resource(show_spinner=False)
def site_pages() -> dict[str, list[st.Page]]:
    """Built once per server: each st.Page resolves its file on disk, twenty lookups on every run otherwise."""
    return {
        "": [st.Page("app/pages/home.py", title="Home", icon=":material/home:", default=True),
             st.Page("app/pages/lesson.py", title="Lesson", icon=":material/school:")],
        "Attention": [
            st.Page("app/pages/tokens.py", title="Tokens and embeddings", icon=":material/token:"),
            st.Page("app/pages/attention.py", title="Attention views", icon=":material/visibility:"),
            st.Page("app/pages/inside_head.py", title="Inside one head", icon=":material/neurology:"),
            st.Page("app/pages/head_overview.py", title="Head overview", icon=":material/grid_view:"),
            st.Page("app/pages/contributions.py", title="Contributions", icon=":material/functions:"),
        ],
        "Embeddings": [
            st.Page("app/pages/word_in_context.py", title="A word in context", icon=":material/compare_arrows:"),
            st.Page("app/pages/word_senses.py", title="Word senses", icon=":material/scatter_plot:"),
            st.Page("app/pages/sentence_embeddings.py", title="Sentence embeddings", icon=":material/notes:"),
            st.Page("app/pages/corpus_search.py", title="Search a corpus", icon=":material/manage_search:"),
        ],
        "Syntax": [
            st.Page("app/pages/syntax_sentence.py", title="Syntax in one sentence", icon=":material/account_tree:"),
            st.Page("app/pages/syntax_corpus.py", title="Syntactic heads on a treebank", icon=":material/table_chart:"),
            st.Page("app/pages/syntax_trees.py", title="Trees from attention", icon=":material/park:"),
            st.Page("app/pages/syntax_probes.py", title="Probes per layer", icon=":material/stacked_line_chart:"),
        ],
        "Pre-training": [
            st.Page("app/pages/masked_words.py", title="Masked words", icon=":material/edit_note:"),
            st.Page("app/pages/next_sentence.py", title="Next sentence", icon=":material/arrow_forward:"),
            st.Page("app/pages/training_data.py", title="How the training data are made", icon=":material/casino:"),
        ],
        "The BERT family": [
            st.Page("app/pages/compare.py", title="Compare two models", icon=":material/compare:"),
        ],
        "Fine-tuning": [
            st.Page("app/pages/finetune.py", title="Fine-tune a classifier", icon=":material/model_training:"),
            st.Page("app/pages/task_heads.py", title="Task heads", icon=":material/label:"),
        ],
    }


# Each run gets its own copies: st.navigation marks the page it returns as runnable for this run only.
pages = {section: [copy.copy(page) for page in listed] for section, listed in site_pages().items()}
page = st.navigation(pages)
with page_turn():  # one page run at a time per server, in order of arrival (app/jobs.py says why)
    step = lesson_mode.follow(page)  # a lesson's step named in the URL: its model, sentences and page
    st.session_state["selection"] = render_sidebar()
    with lesson_mode.open_step(step, st.session_state["selection"].model):  # the lesson panel beside the page
        page.run()
