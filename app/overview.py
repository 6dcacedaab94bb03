"""Every head at a glance ("Head overview" page): surface patterns, rollout and head ablation.

Conventions (stated on the page and in the README):
- Attention arrays are (L, nh, T, T): layer, head, query (row), key (column); rows sum to 1.
- Each statistic is a mean over every query token of the input, [CLS] and [SEP] included, as in
  Clark et al. (2019) "What does BERT look at?".
- Entropy is in bits (log base 2): 0 = all attention on one token, log2(T) = spread evenly.
- Attention to [CLS] / [SEP] / punctuation: the attention mass a query puts on those keys (all
  [SEP]s together). Previous / next token: the weight on key i-1 / i+1 (queries that have one).
- Mean attention distance: Σ_j p_ij·|i - j|, in word pieces.
- Rollout (Abnar & Zuidema 2020): per layer, average the heads, add the residual as
  0.5·A + 0.5·I, renormalise rows to sum 1, and multiply through the layers:
  R_1 = Ã_1, R_l = Ã_l·R_(l-1). R_l[i, j] = how much input token j flows into token i at layer l.
"""
from __future__ import annotations

import unicodedata

import numpy as np
import torch

from bert_core import BertModel, Encoding

PATTERNS = {"entropy": "Entropy (bits)", "cls": "Attention to [CLS]", "sep": "Attention to [SEP]",
            "punct": "Attention to punctuation", "prev": "Attention to the previous token",
            "next": "Attention to the next token", "distance": "Mean attention distance (pieces)"}


def is_punctuation(piece: str) -> bool:
    """A word piece made only of punctuation characters ("." "," "##!" …)."""
    text = piece.removeprefix("##")
    return bool(text) and all(unicodedata.category(c).startswith("P") for c in text)


def attention_entropy(attn: np.ndarray) -> np.ndarray:
    """(L, nh): the mean over queries of each row's entropy in bits."""
    p = attn.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(p), 0.0)
    return terms.sum(-1).mean(-1)


def attention_to(attn: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """(L, nh): the mean over queries of the attention mass on the keys where `keys` (T,) is True."""
    return attn[..., keys].sum(-1).mean(-1) if keys.any() else np.zeros(attn.shape[:2])


def attention_offset(attn: np.ndarray, offset: int) -> np.ndarray:
    """(L, nh): the mean weight on key i+offset over the queries i that have one (-1: previous, +1: next)."""
    T = attn.shape[-1]
    if T <= abs(offset):
        return np.zeros(attn.shape[:2])
    return np.diagonal(attn, offset=offset, axis1=-2, axis2=-1).mean(-1)


def mean_distance(attn: np.ndarray) -> np.ndarray:
    """(L, nh): the mean over queries of Σ_j p_ij·|i - j| (word pieces)."""
    T = attn.shape[-1]
    positions = np.arange(T)
    distance = np.abs(positions[:, None] - positions[None, :])
    return (attn * distance).sum(-1).mean(-1)


def head_patterns(attn: np.ndarray, tokens: list[str], special: list[bool]) -> dict[str, np.ndarray]:
    """Every statistic of PATTERNS, each an (L, nh) array."""
    special_array = np.array(special, dtype=bool)
    return {
        "entropy": attention_entropy(attn),
        # The opening special token ([CLS]; RoBERTa's <s>) and the closing ones ([SEP]; </s>), by place, so
        # the statistics mean the same for every family's tokenizer.
        "cls": attention_to(attn, special_array & (np.arange(len(tokens)) == 0)),
        "sep": attention_to(attn, special_array & (np.arange(len(tokens)) > 0)),
        "punct": attention_to(attn, np.array([is_punctuation(t) and not s
                                             for t, s in zip(tokens, special, strict=True)], bool)),
        "prev": attention_offset(attn, -1),
        "next": attention_offset(attn, +1),
        "distance": mean_distance(attn),
    }


def rollout(attn: np.ndarray, residual: float = 0.5) -> np.ndarray:
    """(L, T, T) float32 attention rollout after each layer (Abnar & Zuidema 2020), heads averaged,
    residual added as (1-residual)·A + residual·I, rows renormalised."""
    L, _, T, _ = attn.shape
    eye = np.eye(T)
    result, flow = np.empty((L, T, T)), eye
    for layer in range(L):
        mixed = (1 - residual) * attn[layer].astype(np.float64).mean(0) + residual * eye
        mixed /= mixed.sum(-1, keepdims=True)
        flow = mixed @ flow
        result[layer] = flow
    return result.astype(np.float32)  # float64 while multiplying; float32 is plenty to show and cache


def ablation_similarity(model: BertModel, enc: Encoding, switched_off: list[tuple[int, int]]) -> np.ndarray:
    """(T,) cosine similarity, token by token, between the last layer's output with the given
    (layer, head) pairs switched off (bert_core's head_mask) and the intact model's output."""
    config = model.config
    device = model.device
    mask = torch.ones(config.num_hidden_layers, config.num_attention_heads, device=device)
    for layer, head in switched_off:
        mask[layer, head] = 0
    inputs = enc.to_tensors(device)
    with torch.inference_mode():
        intact = model(**inputs).last_hidden_state[0]
        ablated = model(**inputs, head_mask=mask).last_hidden_state[0]
    return torch.nn.functional.cosine_similarity(ablated.float(), intact.float(), dim=-1).cpu().numpy()
