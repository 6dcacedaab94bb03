"""What a loaded checkpoint's fine-tuning head says about a text: label probabilities (sequence
classification), a label per word (token classification), start/end distributions and the answer
span (question answering). Plain functions on our BertModel with `model.task_head`."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from bert_core import encode, task_head_of

MAX_ANSWER_PIECES = 30  # the longest answer considered, in word pieces (as transformers' QA pipeline)
QA_EXAMPLE = ("Where does Matt live?", "Matt lives in Canada and Sinan lives in California")


def _logits(model, encoding) -> torch.Tensor:
    head = task_head_of(model)
    if head is None:
        raise ValueError("this model has no fine-tuning head")
    inputs = encoding.to_tensors(model.device)
    with torch.inference_mode():
        return head(model(**inputs), inputs["attention_mask"])[0].float().cpu()


def sequence_probabilities(model, tokenizer, text_a: str, text_b: str = "") -> dict[str, float]:
    """{label: probability} for the text (or the pair), in the head's label order."""
    logits = _logits(model, encode(tokenizer, text_a, text_b or None))
    return dict(zip(task_head_of(model).labels, logits.softmax(-1).tolist(), strict=True))


@dataclass(frozen=True)
class WordLabel:
    word: str
    label: str
    probability: float


def word_labels(model, tokenizer, text: str) -> list[WordLabel]:
    """Each word's label, read at its first word piece (as transformers' token-classification training
    labels only the first piece of a word)."""
    encoding = encode(tokenizer, text)
    probabilities = _logits(model, encoding).softmax(-1)      # (T, labels)
    labels = task_head_of(model).labels
    out = []
    for word in encoding.words:
        row = probabilities[word.pieces[0]]
        best = int(row.argmax())
        out.append(WordLabel(word.text, labels[best], float(row[best])))
    return out


@dataclass(frozen=True)
class Answer:
    tokens: list[str]
    start: np.ndarray          # (T,) softmax of the start scores over the passage's pieces (0 elsewhere)
    end: np.ndarray            # (T,) likewise for the end
    span: tuple[int, int]      # first and last piece of the answer (inclusive)
    text: str                  # the passage's characters under the span
    score: float               # start[span[0]] * end[span[1]]
    in_passage: list[bool]     # which pieces are the passage's (segment 1, not [SEP])


def answer(model, tokenizer, question: str, passage: str) -> Answer:
    """The span of the passage with the highest start × end probability, start ≤ end, at most
    MAX_ANSWER_PIECES long; probabilities are softmaxes over the passage's pieces only."""
    encoding = encode(tokenizer, question, passage)
    logits = _logits(model, encoding)                                  # (T, 2)
    passage_pieces = [segment == 1 and not special
                      for segment, special in zip(encoding.token_type_ids, encoding.special, strict=True)]
    if not any(passage_pieces):
        raise ValueError("the passage is empty (or cut off entirely): give a passage after the question")
    keep = torch.tensor(passage_pieces)
    masked = logits.masked_fill(~keep[:, None], float("-inf"))
    start, end = masked[:, 0].softmax(-1).numpy(), masked[:, 1].softmax(-1).numpy()
    scores = np.triu(np.outer(start, end)) - np.triu(np.outer(start, end), MAX_ANSWER_PIECES)  # j - i < max
    i, j = np.unravel_index(int(scores.argmax()), scores.shape)
    characters = (encoding.offsets[i][0], encoding.offsets[j][1])
    return Answer(encoding.tokens, start, end, (int(i), int(j)), passage[characters[0]:characters[1]],
                  float(scores[i, j]), passage_pieces)
