"""`python -m app finetune` on a random `test`-preset checkpoint: the JSON's exact shape, the checkpoint
folder it writes, and exit status 2 with a one-line message for input it cannot use."""
from __future__ import annotations

import json

import pytest
import transformers

from app.__main__ import main
from tests.test_bert_parity import hf_config, randomize, save_checkpoint
from tests.test_finetune import to_csv, toy_rows

KEYS = {"model", "task", "approach", "trained_parameters", "total_parameters", "epochs_run", "dev_accuracy",
        "test_accuracy", "labels", "history"}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    hf = transformers.BertModel(hf_config("test"))
    randomize(hf, 2)
    return save_checkpoint(hf, folder, "safetensors")


def test_finetune_writes_the_json_and_a_checkpoint_transformers_loads(tmp_path, capsys, checkpoint):
    data = tmp_path / "toy.csv"
    data.write_bytes(to_csv(toy_rows(60)))
    out, report = tmp_path / "ck", tmp_path / "o.json"
    assert main(["finetune", "--data", str(data), "--approach", "top:1", "--epochs", "2", "--seed", "3",
                 "--model", str(checkpoint), "--out", str(out), "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    assert set(result) == KEYS
    assert result["task"] == "sequence" and result["approach"] == "top:1" and result["labels"] == ["cat", "dog"]
    assert 0 < result["trained_parameters"] < result["total_parameters"]
    assert 1 <= result["epochs_run"] == len(result["history"]) <= 2
    assert all(set(epoch) == {"epoch", "train_loss", "dev_accuracy"} for epoch in result["history"])
    assert 0 <= result["test_accuracy"] <= 1
    captured = capsys.readouterr()
    assert captured.out == "" and "fine-tuning" in captured.err
    loaded = transformers.AutoModelForSequenceClassification.from_pretrained(out)
    assert loaded.config.id2label == {0: "cat", 1: "dog"}


def test_finetune_token_task_on_conllu(tmp_path, checkpoint):
    from tests.test_finetune import CONLLU

    data = tmp_path / "t.conllu"
    data.write_text(CONLLU * 10, encoding="utf-8")
    out, report = tmp_path / "ck", tmp_path / "o.json"
    assert main(["finetune", "--data", str(data), "--task", "token", "--approach", "head", "--epochs", "1",
                 "--model", str(checkpoint), "--out", str(out), "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    assert set(result) == KEYS and result["task"] == "token" and result["labels"] == ["AUX", "DET", "NOUN", "PART"]
    assert result["trained_parameters"] == (32 + 1) * 4
    loaded = transformers.AutoModelForTokenClassification.from_pretrained(out)
    assert loaded.config.architectures == ["BertForTokenClassification"]


@pytest.mark.parametrize("rows, args, message", [
    ([("a cat", "cat")] * 5, [], "at least two classes"),
    (toy_rows(30), ["--approach", "top:9"], "top:N with N from 1 to 2"),
    (toy_rows(30), ["--task", "token"], "no CoNLL-U sentence with UPOS tags"),
])
def test_unusable_input_exits_2_with_one_line(tmp_path, caplog, checkpoint, rows, args, message):
    data = tmp_path / "d.csv"
    data.write_bytes(to_csv(rows))
    code = main(["finetune", "--data", str(data), "--model", str(checkpoint), "--out", str(tmp_path / "ck"),
                 "--json", str(tmp_path / "o.json"), *args])
    assert code == 2 and message in caplog.text and not (tmp_path / "o.json").exists()
