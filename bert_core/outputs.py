"""What a forward returns: one typed output, whatever was asked for (unrequested parts are None)."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class EmbeddingParts:
    """The input embedding taken apart: token + segment + position, then LayerNorm. Each (B, T, E), E the
    embedding width (hidden_size H unless factorised); segment is zeros for a model without segments."""
    token: torch.Tensor
    segment: torch.Tensor
    position: torch.Tensor
    summed: torch.Tensor
    normalized: torch.Tensor
    projected: torch.Tensor | None = None  # (B, T, H): normalized·Wᵖ + b, where E → H (ALBERT, ELECTRA)


@dataclass
class LayerIntermediates:
    """One encoder layer's self-attention, step by step."""
    query: torch.Tensor             # (B, nh, T, hd)
    key: torch.Tensor               # (B, nh, T, hd)
    value: torch.Tensor             # (B, nh, T, hd)
    scores: torch.Tensor            # (B, nh, T, T) Q·Kᵀ/√hd plus the padding mask: the softmax input
    context: torch.Tensor           # (B, nh, T, hd) probs @ V per head (after the head mask)
    attention_output: torch.Tensor  # (B, T, H) LayerNorm(context·Wᴼ + X): the input to the feed-forward


@dataclass
class BertModelOutput:
    last_hidden_state: torch.Tensor                        # (B, T, H)
    pooler_output: torch.Tensor | None = None              # (B, H); None if the checkpoint has no pooler
    hidden_states: tuple[torch.Tensor, ...] | None = None  # L+1 × (B, T, H), embedding output first
    attentions: tuple[torch.Tensor, ...] | None = None     # L × (B, nh, T, T)
    embeddings: EmbeddingParts | None = None
    intermediates: tuple[LayerIntermediates, ...] | None = None
