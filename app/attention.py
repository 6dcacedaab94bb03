"""Attention as numbers: one forward per input, then the views people ask bertviz for.

Plain functions, no Streamlit. Every view starts from the (L, nh, T, T) attention of one
forward and applies, in this order:
1. hide [CLS]/[SEP]: drop their rows and columns; with `renormalize`, each remaining row is
   divided by its remaining sum so it is a distribution again (without, rows sum to < 1);
2. merge word pieces into words (app.wordlevel's convention: attention TO a word is the SUM
   over its pieces, FROM a word the MEAN over its pieces); a shown [CLS]/[SEP] stays a unit;
3. a sentence filter for pairs, bertviz's convention: sentence A is [CLS] A [SEP] (segment 0),
   sentence B is B [SEP] (segment 1); "A→B" keeps rows (from) in A and columns (to) in B.
   Filtered rows are not renormalised.
With measure="norm" the views start from norm-based attention instead (Kobayashi et al. 2020, see
app.contributions): ‖α_ij f(x_j)‖ of each head, each row divided by its sum so that it reads like
attention weights (a row's shares of the head's output size), then the same three steps.
Rows attend to columns: weights[..., i, j] is how much token i attends to token j.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import numpy as np
import torch

from bert_core import Encoding, encode

from .contributions import head_norms, row_shares, transformed_vectors
from .wordlevel import word_attention, word_ids_from_pieces, word_maps

DIRECTIONS = ("All", "A→A", "A→B", "B→A", "B→B")
MEASURES = {"Attention weights": "weights", "Norm-weighted": "norm"}  # label (page, URL) → attention_view's measure
_SEGMENTS = {"A": 0, "B": 1}


class AttentionRun:
    """One forward of one input: its encoding, and each layer's attention (nh, T, T) float32 on
    the CPU, read-only (every session shares a cached run).

    The forward runs the fused attention kernel and keeps each layer's input; a layer's attention
    is computed from its input the first time it is asked for (BertModel.attention_probabilities,
    equal to the forward's own up to float rounding). A page that shows one layer (the head view)
    does not wait for the other layers' T×T maps (bench/RESULTS.md has the figures).
    """

    def __init__(self, model, encoding: Encoding):
        self.encoding = encoding
        self._model = model
        inputs = encoding.to_tensors(model.device)
        with torch.inference_mode():
            out = model(**inputs, output_hidden_states=True)
        self._layer_inputs = out.hidden_states[:-1]     # layer i reads hidden_states[i]
        self._attention_mask = inputs["attention_mask"]
        self._layers: list[np.ndarray | None] = [None] * len(self._layer_inputs)
        self._all: np.ndarray | None = None
        self._norms: list[np.ndarray | None] = [None] * len(self._layer_inputs)
        self.num_layers = len(self._layers)
        self.num_heads = model.config.num_attention_heads

    def layer(self, index: int) -> np.ndarray:
        """(nh, T, T): layer `index` (0-based), computed once."""
        if self._layers[index] is None:
            with torch.inference_mode():
                probs = self._model.attention_probabilities(self._layer_inputs[index], index, self._attention_mask)
            weights = probs[0].float().cpu().numpy()
            weights.setflags(write=False)
            self._layers[index] = weights
        return self._layers[index]

    def layer_input(self, index: int) -> torch.Tensor:
        """(1, T, H): what layer `index` reads (hidden_states[index] of the forward); read-only by convention."""
        return self._layer_inputs[index]

    def norms(self, index: int) -> np.ndarray:
        """(nh, T, T): norm-based attention ‖α_ij f_h(x_j)‖ of layer `index` (app.contributions), computed
        once from that layer's attention and value vectors."""
        if self._norms[index] is None:
            with torch.inference_mode():
                transformed = transformed_vectors(self._model, index, self.layer_input(index)).float()
                norms = head_norms(torch.tensor(self.layer(index), device=transformed.device), transformed)
            norms = norms.cpu().numpy()
            norms.setflags(write=False)
            self._norms[index] = norms
        return self._norms[index]

    @property
    def attentions(self) -> np.ndarray:
        """(L, nh, T, T): every layer."""
        if self._all is None:
            stacked = np.stack([self.layer(i) for i in range(self.num_layers)])
            stacked.setflags(write=False)
            self._layers = list(stacked)  # views into the stack: the maps are held once, not twice
            self._all = stacked
        return self._all


@dataclass(frozen=True)
class AttentionView:
    """Attention after the toggles: weights (…, rows, cols), a label and a segment per row and column."""
    weights: np.ndarray
    from_labels: list[str]
    to_labels: list[str]
    from_segments: list[int]
    to_segments: list[int]


def run_attention(model, tokenizer, text_a: str, text_b: str = "") -> AttentionRun:
    """Tokenize (truncating past 512 pieces, see Encoding.truncated) and run the model once."""
    return AttentionRun(model, encode(tokenizer, text_a, text_b))


def hide_special(weights: np.ndarray, special: list[bool], renormalize: bool) -> tuple[np.ndarray, list[int]]:
    """Drop the rows and columns of special tokens; returns the weights and the positions kept."""
    kept = [i for i, s in enumerate(special) if not s]
    weights = weights[..., kept, :][..., kept]
    if renormalize:
        weights = weights / np.maximum(weights.sum(-1, keepdims=True), np.finfo(weights.dtype).tiny)
    return weights, kept


def merge_pieces(weights: np.ndarray, units: list[tuple[int, ...]]) -> np.ndarray:
    """(…, T, T) → (…, U, U): unit u is the tokens units[u] (positions into the T axis);
    TO a unit = sum over its tokens, FROM a unit = mean over its tokens."""
    maps = word_maps(word_ids_from_pieces(units, weights.shape[-1]), len(units))
    # A cached result's array is read-only; torch needs a writable one (copied only then).
    return word_attention(torch.from_numpy(np.require(weights, requirements=["C", "W"])), maps).numpy()


def _units(encoding: Encoding, kept: list[int]) -> list[tuple[int, ...]]:
    """Words (their pieces) and shown special tokens (alone), in reading order, as positions into `kept`."""
    index = {position: i for i, position in enumerate(kept)}
    groups = [tuple(index[p] for p in word.pieces if p in index) for word in encoding.words]
    groups += [(index[p],) for p in kept if encoding.special[p]]
    return sorted((g for g in groups if g), key=lambda g: g[0])


def select_direction(view: AttentionView, direction: str) -> AttentionView:
    """Keep rows from one sentence and columns to one sentence ("A→B"); "All" keeps everything."""
    if direction == "All":
        return view
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    source, target = (_SEGMENTS[side] for side in direction.split("→"))
    rows = [i for i, s in enumerate(view.from_segments) if s == source]
    cols = [j for j, s in enumerate(view.to_segments) if s == target]
    return AttentionView(view.weights[..., rows, :][..., cols],
                         [view.from_labels[i] for i in rows], [view.to_labels[j] for j in cols],
                         [source] * len(rows), [target] * len(cols))


def attention_view(run: AttentionRun, layer: int | None = None, *, hide_specials: bool = False,
                   renormalize: bool = False, merge_words: bool = False, direction: str = "All",
                   measure: str = "weights") -> AttentionView:
    """The attention a view shows: one layer (nh, R, C), or all layers (L, nh, R, C) for layer=None;
    measure "weights" (α) or "norm" (‖α f(x)‖, rows divided by their sums)."""
    enc = run.encoding
    if measure == "weights":
        weights = run.attentions if layer is None else run.layer(layer)
    elif measure == "norm":
        layers = range(run.num_layers) if layer is None else [layer]
        weights = row_shares(np.stack([run.norms(i) for i in layers]))
        weights = weights if layer is None else weights[0]
    else:
        raise ValueError(f"measure must be one of {tuple(MEASURES.values())}, not {measure!r}")
    kept = list(range(len(enc)))
    if hide_specials:
        weights, kept = hide_special(weights, enc.special, renormalize)
    labels = [enc.tokens[p] for p in kept]
    segments = [enc.token_type_ids[p] for p in kept]
    if merge_words:
        units = _units(enc, kept)
        weights = merge_pieces(weights, units)
        labels = [_unit_label(enc, [kept[i] for i in unit]) for unit in units]
        segments = [segments[unit[0]] for unit in units]
    view = AttentionView(np.asarray(weights, dtype=np.float32), labels, labels, segments, segments)
    return select_direction(view, direction)


def _unit_label(encoding: Encoding, positions: list[int]) -> str:
    """A word's label: its pieces joined without the ## markers ("pet", "python"); a special stays itself."""
    return "".join(encoding.tokens[p].removeprefix("##") for p in positions)


def head_csv(view: AttentionView, head: int) -> str:
    """One head's matrix as CSV: a header row of to-tokens, then one row per from-token."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["from \\ to", *view.to_labels])
    for label, row in zip(view.from_labels, view.weights[head], strict=True):
        writer.writerow([label, *(f"{w:.6g}" for w in row)])
    return buffer.getvalue()


def head_json(view: AttentionView, index: int, /, **about) -> str:
    """The matrix of head `index` (0-based) as JSON, with `about` alongside: model, sentences, toggles,
    and the layer and head as the page numbers them (from 1)."""
    return json.dumps({**about, "from_tokens": view.from_labels, "to_tokens": view.to_labels,
                       "weights": np.round(view.weights[index].astype(float), 6).tolist()}, ensure_ascii=False)
