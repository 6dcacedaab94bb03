"""Task heads kept by our loader against transformers' BertForSequenceClassification,
BertForTokenClassification and BertForQuestionAnswering, on random-weight checkpoints of the `test`
preset. Logits compared within 1e-4 (absolute, float32, as the hidden states in test_bert_parity)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import transformers

from bert_core import load_pretrained, task_head_of
from bert_core.task_heads import QA, SEQUENCE, TOKEN
from tests.test_bert_parity import hf_config, randomize, save_checkpoint

TOL = 1e-4
CLASSES = {SEQUENCE: transformers.BertForSequenceClassification, TOKEN: transformers.BertForTokenClassification,
           QA: transformers.BertForQuestionAnswering}
TEXTS = ["The cat sat on the mat.", "A dog!", "Sat the cat on a dog, then?"]


def task_checkpoint(folder, task: str, labels=("neg", "neutral", "pos"), seed: int = 3):
    config = hf_config("test")
    if task != QA:
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
    hf = CLASSES[task](config).eval()
    randomize(hf, seed)
    save_checkpoint(hf, folder, "safetensors")
    return hf


@pytest.mark.parametrize("task", [SEQUENCE, TOKEN, QA])
def test_loaded_head_gives_transformers_logits(tmp_path, task):
    hf = task_checkpoint(tmp_path, task)
    model, tokenizer = load_pretrained(tmp_path, device="cpu")
    head = task_head_of(model)
    assert head is not None and head.task == task
    if task != QA:
        assert head.labels == ["neg", "neutral", "pos"]
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        ours = head(model(**batch))
        theirs = hf(**batch)
    if task == QA:
        torch.testing.assert_close(ours[..., 0], theirs.start_logits, atol=TOL, rtol=0)
        torch.testing.assert_close(ours[..., 1], theirs.end_logits, atol=TOL, rtol=0)
    else:
        torch.testing.assert_close(ours, theirs.logits, atol=TOL, rtol=0)
    assert ours.abs().max() > 0.1  # random weights: the comparison is not between zeros


def test_plain_checkpoint_has_no_task_head(tmp_path):
    hf = transformers.BertModel(hf_config("test"))
    save_checkpoint(hf, tmp_path, "safetensors")
    model, _ = load_pretrained(tmp_path, device="cpu")
    assert task_head_of(model) is None


def test_token_head_read_from_architectures(tmp_path):
    task_checkpoint(tmp_path, TOKEN)
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["BertForTokenClassification"]
    model, _ = load_pretrained(tmp_path, device="cpu")
    assert task_head_of(model).task == TOKEN


# ----------------------------------------------------------------- what the Task heads page shows

def test_sequence_probabilities_are_transformers_softmax(tmp_path):
    from app.task_outputs import sequence_probabilities

    hf = task_checkpoint(tmp_path, SEQUENCE)
    model, tokenizer = load_pretrained(tmp_path, device="cpu")
    shown = sequence_probabilities(model, tokenizer, "The cat sat.", "A dog!")
    with torch.no_grad():
        theirs = hf(**tokenizer("The cat sat.", "A dog!", return_tensors="pt")).logits.softmax(-1)[0]
    assert list(shown) == ["neg", "neutral", "pos"]
    torch.testing.assert_close(torch.tensor(list(shown.values())), theirs, atol=1e-5, rtol=0)


def test_word_labels_read_each_words_first_piece(tmp_path):
    from app.task_outputs import word_labels

    hf = task_checkpoint(tmp_path, TOKEN)
    model, tokenizer = load_pretrained(tmp_path, device="cpu")
    text = "The cats sat on mats"
    labels = word_labels(model, tokenizer, text)
    batch = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        theirs = hf(**batch).logits[0].argmax(-1)
    first_pieces = [batch.word_ids().index(w) for w in range(5)]
    assert [w.word for w in labels] == text.split()
    assert [w.label for w in labels] == [["neg", "neutral", "pos"][int(theirs[i])] for i in first_pieces]


def test_answer_is_the_best_span_inside_the_passage(tmp_path):
    from app.task_outputs import MAX_ANSWER_PIECES, QA_EXAMPLE, answer

    task_checkpoint(tmp_path, QA)
    model, tokenizer = load_pretrained(tmp_path, device="cpu")
    question, passage = QA_EXAMPLE
    result = answer(model, tokenizer, question, passage)
    i, j = result.span
    assert result.in_passage[i] and result.in_passage[j] and 0 <= j - i < MAX_ANSWER_PIECES
    assert abs(result.start.sum() - 1) < 1e-5 and result.start[~np.array(result.in_passage)].max() == 0
    best = max(result.start[a] * result.end[b] for a in range(len(result.tokens)) for b in range(a, len(result.tokens))
               if b - a < MAX_ANSWER_PIECES)
    assert result.score == pytest.approx(best) and result.text and result.text in passage
