"""Sentence embeddings at any layer: the [CLS] vector, mean pooling and max pooling.

Mean pooling averages every token the attention mask keeps ([CLS] and [SEP] included), which
is what all-MiniLM-L6-v2 was trained for (sentence-transformers' Pooling(mean) on the last
layer); max pooling takes each dimension's maximum over the same tokens; [CLS] is position 0.
"""
from __future__ import annotations

import numpy as np

from bert_core import encode

from .vectors import BATCH_SIZE, Progress, mean_weights, pool_hidden_states

EXAMPLE_SENTENCES = [
    "I love my pet Python",
    "I love coding in Python",
    "The snake swallowed a rabbit whole.",
    "She wrote a short script to rename all the photos.",
    "A man is playing a guitar on stage.",
    "Someone is playing music in front of a crowd.",
    "The central bank raised interest rates again.",
    "Inflation pushed the price of bread up this year.",
]
POOLINGS = {"mean": "mean of all tokens (attention-mask weighted)", "cls": "[CLS] vector",
            "max": "max over all tokens"}


def sentence_embeddings(model, tokenizer, sentences: list[str], pooling: str = "mean", *,
                        batch_size: int = BATCH_SIZE, progress: Progress | None = None) -> np.ndarray:
    """(N, L+1, H): each sentence's embedding at every layer (layer 0 = embedding output)."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")
    encodings = [encode(tokenizer, s) for s in sentences]
    if pooling == "cls":
        weights = [mean_weights(len(e), (0,)) for e in encodings]
    else:
        weights = [mean_weights(len(e), tuple(range(len(e)))) for e in encodings]
    return pool_hidden_states(model, encodings, weights, how="max" if pooling == "max" else "mean",
                              batch_size=batch_size, progress=progress)

