"""Padded batches of similar length, for the analyses that run the model over many inputs."""
from __future__ import annotations

from collections.abc import Sequence

import torch


def length_batches(lengths: Sequence[int], *, batch_size: int, cost_limit: int | None = None) -> list[list[int]]:
    """Indices grouped by length, shortest first (equal lengths in input order), so padding stays small.

    A batch holds at most batch_size indices and, when cost_limit is given, batch × T² (T its
    longest length) stays within cost_limit, unless a single input is over it on its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches, current = [], []
    for index in order:
        full = len(current) == batch_size
        over_cost = cost_limit is not None and (len(current) + 1) * lengths[index] ** 2 > cost_limit
        if current and (full or over_cost):
            batches.append(current)
            current = []
        current.append(index)
    return batches + [current] if current else batches


def pad_rows(rows: Sequence, value: float, dtype: torch.dtype = torch.long) -> torch.Tensor:
    """(B, T): each row from the left, then `value` up to the longest row's length T."""
    out = torch.full((len(rows), max(len(row) for row in rows)), value, dtype=dtype)
    for b, row in enumerate(rows):
        out[b, :len(row)] = torch.as_tensor(row, dtype=dtype)
    return out


def padded_inputs(input_ids: Sequence, token_type_ids: Sequence | None = None, *, pad_token_id: int,
                  device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask, token_type_ids), each (B, T), for inputs of different lengths:
    padding is pad_token_id, masked out, in segment 0."""
    ids = pad_rows(input_ids, pad_token_id)
    lengths = torch.tensor([len(row) for row in input_ids])
    mask = (torch.arange(ids.shape[1]) < lengths[:, None]).long()
    types = torch.zeros_like(ids) if token_type_ids is None else pad_rows(token_type_ids, 0)
    return ids.to(device), mask.to(device), types.to(device)
