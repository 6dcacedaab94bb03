"""The Fine-tuning pages through AppTest: the shipped set on a random `test`-preset checkpoint (fast),
a run, a stopped run, the comparison table, the checkpoint opened in every page, the Task heads page
for sequence, token and QA heads; and both pages on the real default model (rendering only)."""
from __future__ import annotations

import numpy as np
import pytest
import transformers
from streamlit.testing.v1 import AppTest

from bert_core.task_heads import QA, SEQUENCE, TOKEN
from tests.conftest import ROOT
from tests.test_bert_parity import hf_config, randomize, save_checkpoint
from tests.test_task_heads import task_checkpoint

FINETUNE, TASK_HEADS = "app/pages/finetune.py", "app/pages/task_heads.py"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    hf = transformers.BertModel(hf_config("test"))
    randomize(hf, 5)
    return save_checkpoint(hf, tmp_path_factory.mktemp("tiny") / "ckpt", "safetensors")


def open_page(page: str, model: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=240)
    if model is not None:
        at.query_params["model"] = model
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def train(at: AppTest, *, approach: str, epochs: int, stop: bool = False) -> AppTest:
    at.radio(key="approach").set_value(approach)
    at.slider(key="epochs").set_value(epochs)
    at.run()
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception, at.exception
    job = at.session_state["ft_job"]
    if stop:
        job.stop()
    job.join(120)
    assert not job.running
    at.run()
    assert not at.exception, at.exception
    return at


def text(at: AppTest) -> str:
    return " ".join(str(e.value) for e in [*at.markdown, *at.info, *at.caption, *at.error, *at.warning])


def test_fine_tune_page_trains_compares_and_opens_the_result(tiny):
    at = open_page(FINETUNE, str(tiny))
    counts = at.dataframe[0].value
    assert list(counts.index) == ["train", "dev", "test"] and counts["all"].sum() == 629
    at = train(at, approach="head", epochs=1)
    run = at.session_state["ft_runs"][-1]["result"]
    assert run.trained_parameters == (32 + 1) * 2 and not run.stopped
    table = at.dataframe[1].value
    assert table["test accuracy"].tolist() == [run.test.accuracy] and table["approach"].tolist() == ["head"]
    assert "What changed inside" in " ".join(h.value for h in at.subheader)
    assert len(at.get("plotly_chart")) >= 7  # curves (2), confusion, divergence grid, 2 head maps, 2 maps

    at = train(at, approach="all", epochs=5, stop=True)
    table = at.dataframe[1].value
    assert table["approach"].tolist() == ["head", "all"] and table["stopped"].tolist() == [False, True]
    assert "Stopped early" in text(at)
    stopped = at.session_state["ft_runs"][-1]["result"]
    assert stopped.epochs_run <= 1

    # a new run is shown on the head whose attention changed most (every layer trained, so not all zero)
    at = train(at, approach="all", epochs=1)
    divergence = np.asarray(at.session_state["ft_runs"][-1]["inside"]["divergence"])
    shown = (at.selectbox(key="ft_layer").value, at.selectbox(key="ft_head").value)
    assert divergence.max() > 0 and shown == np.unravel_index(divergence.argmax(), divergence.shape)

    next(b for b in at.button if b.label == "Open it in every page").click().run()
    assert not at.exception, at.exception
    assert "sequence classification" in text(at) and "Label probabilities" in at.get("plotly_chart")[0].proto.spec


def test_fine_tune_page_tags_words_on_the_upos_sample(tiny):
    at = open_page(FINETUNE, str(tiny))
    at.radio(key="data").set_value("UPOS tags (shipped)").run()
    counts = at.dataframe[0].value
    assert counts["sentences"].tolist() == [320, 40, 40]
    at = train(at, approach="head", epochs=1)
    result = at.session_state["ft_runs"][-1]["result"]
    assert result.trained_parameters == (32 + 1) * len(result.labels)
    assert at.dataframe[1].value["task"].tolist() == ["token"]
    per_tag = next(d.value for d in at.dataframe if "tag" in d.value.columns)
    assert per_tag["test words"].sum() == len(result.test_labels)
    assert "Predicted tags drawn on a test sentence" in text(at)


def test_task_heads_page_shows_each_kind_of_head(tmp_path):
    for task, expected in ((SEQUENCE, "Label probabilities"), (TOKEN, "label the head gives"), (QA, "Answer:")):
        folder = tmp_path / task
        task_checkpoint(folder, task)
        at = open_page(TASK_HEADS, str(folder))
        shown = text(at) + " ".join(c.proto.spec for c in at.get("plotly_chart"))
        assert expected in shown, (task, shown[:300])


@pytest.mark.parametrize("page", [FINETUNE, TASK_HEADS])
def test_pages_render_on_the_default_model(page):
    at = open_page(page)
    if page == FINETUNE:
        assert at.dataframe[0].value["all"].sum() == 629 and any(b.label == "Train" for b in at.button)
    else:
        assert "has no fine-tuning head" in text(at)


def test_an_unusable_upload_is_an_error_not_a_traceback(tiny, monkeypatch):
    # AppTest cannot upload files: the shipped set's bytes are swapped for one-class data.
    from app import finetune

    fake = ROOT / "data" / "spam" / "build.py"  # any file whose parse gives no text/label columns
    monkeypatch.setattr(finetune, "SPAM_DATA", fake)
    at = open_page(FINETUNE, str(tiny))
    assert at.error and "needs a `text` column and a `label` column" in at.error[0].value
