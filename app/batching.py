"""Padded batches of similar length, for the analyses that run the model over many inputs."""
from __future__ import annotations

from collections.abc import Sequence


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
