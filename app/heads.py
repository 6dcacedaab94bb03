"""How a head is written wherever a person reads or types one: "L-H", layer and head counted from 1,
as Clark et al. (2019) write them ("3-9": layer 3, head 9). Code keeps (layer, head) as 0-based
integers and writes or reads the text only at the edge: tables, the CLI's JSON, the URL.

The Head overview's links once wrote heads as "layer:head" ("1:4,6:12"); parse_heads reads that
form too, so those links still open.
"""
from __future__ import annotations

import re

_HEAD = re.compile(r"\s*(\d+)\s*[-:]\s*(\d+)\s*")


def head_label(layer: int, head: int) -> str:
    """(0, 3) → "1-4"."""
    return f"{layer + 1}-{head + 1}"


def parse_head(text: str) -> tuple[int, int] | None:
    """"1-4" (or the old "1:4") → (0, 3); None when the text is not a head."""
    match = _HEAD.fullmatch(text)
    if match is None or int(match[1]) < 1 or int(match[2]) < 1:
        return None
    return int(match[1]) - 1, int(match[2]) - 1


def parse_heads(text: str, layers: int, heads: int) -> list[tuple[int, int]]:
    """The distinct 0-based (layer, head) pairs of a comma-separated list ("1-4,6-12"), sorted;
    items that are malformed or outside a model of `layers` × `heads` are skipped."""
    found = {parse_head(item) for item in text.split(",")}
    return sorted(pair for pair in found if pair is not None and pair[0] < layers and pair[1] < heads)
