"""The sidebar's model box: whatever is typed there, the page says what went wrong and carries on
with the default model, and the bad name is not tried again on the next rerun or kept in the URL;
the device line says how many torch threads the app uses."""
from __future__ import annotations

import json
import os
import re

import pytest
from streamlit.testing.v1 import AppTest

from bert_core import DEFAULT_MODEL
from tests.conftest import ROOT


def not_bert_folder(tmp_path):
    folder = tmp_path / "gpt2"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_embd": 64}))
    return folder


@pytest.mark.parametrize("typed", ["not-bert-folder", "missing-folder", "array-config"])
def test_a_model_that_cannot_load_is_reported_and_the_default_used(tmp_path, monkeypatch, typed):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    if typed == "not-bert-folder":
        name = str(not_bert_folder(tmp_path))
    elif typed == "missing-folder":
        name = str(tmp_path / "nowhere")
    else:
        (tmp_path / "config.json").write_text("[1, 2]")
        name = str(tmp_path)
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=120).run()
    at.sidebar.text_input[0].input(name)
    at.sidebar.button[0].click().run()   # "Load model"
    assert not at.exception
    errors = " ".join(e.value for e in at.sidebar.error)
    assert "Could not load" in errors and name in errors
    assert at.query_params["model"] == [DEFAULT_MODEL] or at.query_params["model"] == DEFAULT_MODEL
    assert at.session_state["model_name"] == DEFAULT_MODEL
    at.run()                              # the next rerun does not try the bad name again
    assert not at.exception and not at.sidebar.error


def test_the_sidebar_says_the_device_and_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=120).run()
    caption = " ".join(str(c.value) for c in at.sidebar.caption)
    found = re.search(r"Running on \*\*CPU\*\* \((\d+) threads?\)", caption)
    assert found or "Running on **CUDA**" in caption, caption
    if found:  # a core is left for the browser and the server (one core: that one)
        assert 1 <= int(found[1]) <= max(1, len(os.sched_getaffinity(0)) - 1)
