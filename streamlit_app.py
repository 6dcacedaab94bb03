"""BERT Explorer's server: `streamlit run streamlit_app.py`.

Streamlit serves the pages (router.py) as an st.App. Importing this file, which the server does
before it starts, also starts loading the default model in a thread, through the same cached
service the pages use: torch takes longer to import than the server to start, so the model is
loaded, or nearly, by the time the first browser has drawn the page frame.
"""
import gc
import logging
import threading

import streamlit as st
from starlette.middleware import Middleware
from streamlit.logger import get_logger

from app.component_scan import skip_component_scan
from app.frontend_assets import FrontendAssets

log = get_logger(__name__)  # Streamlit's logger: its messages show in the server's output
_THREAD = "load-default-model"
# Loading outside a page, the model service's spinner has no page to show in, and Streamlit says so
# once; nothing is wrong, so that one warning is not logged.
logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
    lambda record: record.threadName != _THREAD)


def _load_default_model() -> None:
    # Imported here: torch and the model take seconds, and this thread lets the server answer meanwhile.
    from app.services import get_model
    from bert_core import DEFAULT_MODEL

    try:
        _warm_up(*get_model(DEFAULT_MODEL))
        log.info("%s loaded at start-up", DEFAULT_MODEL)
    except Exception:  # the first page to ask for the model shows the error itself
        log.exception("could not load %s at start-up", DEFAULT_MODEL)
    # Python's full garbage collection walks every object: with torch, plotly and Streamlit loaded, about
    # 250 ms during which no page runs. What exists now lives as long as the server, so the collector
    # stops walking it (bench/RESULTS.md, "Classroom load"); the start-up's garbage is collected first.
    gc.collect()
    gc.freeze()


def _warm_up(model, tokenizer) -> None:
    """Pay the one-time costs of torch's first forward and plotly's first figure now, not on the first page."""
    from app.attention import attention_view, run_attention
    from components.attention_heatmap import attention_figure

    view = attention_view(run_attention(model, tokenizer, "Warm up."), 0)
    attention_figure(weights=view.weights[0], from_labels=view.from_labels, to_labels=view.to_labels,
                     title="").to_json()


skip_component_scan()  # the app uses no v2 component from another package: 0.4 CPU-s saved
threading.Thread(target=_load_default_model, name=_THREAD, daemon=True).start()
# The frontend's files from memory, in one piece each (app/frontend_assets.py says why).
app = st.App("router.py", middleware=[Middleware(FrontendAssets)])
