"""Trees from attention: can a whole dependency tree be read off one head (Raganato & Tiedemann 2018;
Htut et al. 2019)? Every head's word-level attention, symmetrised, is decoded into the maximum
spanning tree over the sentence's words and scored against the gold tree, ignoring direction.

Conventions (stated the same way on the page and in the README):
- Word-level attention as everywhere in the app (app/wordlevel.py): TO a word = sum over its
  pieces, FROM a word = mean over its pieces, [CLS]/[SEP] removed, no renormalisation. For each
  layer × head, and for each layer's mean over its heads, the matrix A (W × W) is symmetrised,
  S = (A + Aᵀ)/2, and decoded into the undirected maximum spanning tree over ALL the sentence's
  words (punctuation included).
- UUAS = gold undirected edges found ÷ (words − 1), summed over the corpus before dividing
  (micro-average): `found / edges`.
- Sentences of one word (no edge) and sentences over 510 word pieces are skipped and counted, as are
  malformed ones.
- Baselines on the same sentences: the right-branching chain (word i – word i+1), and a random
  tree: the maximum spanning tree of a random symmetric matrix (uniform weights, numpy seeded
  with `seed`, sentences in file order).
- Best head: highest UUAS; ties to the lowest layer, then the lowest head; written "L-H" from 1.
- MST decoding: Prim's algorithm from word 0, batched over every head of many sentences at once
  (checked against scipy's minimum_spanning_tree in the tests and the benchmark). With equal
  weights the node reached first is the one with the lowest index, and its parent the earliest
  added; a word the tokenizer dropped (no pieces) has weight 0 to every word.
- Directed variant, for one sentence: the maximum spanning arborescence (Edmonds, networkx) of
  A read as dependent → head (A[d, h] is the weight of the arc h → d); UAS = words whose head is
  right ÷ words, the root counted right when the gold root is the arborescence's root.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from bert_core import DEFAULT_MODEL

from .batching import length_batches, pad_rows, padded_inputs
from .conllu import Sentence, Treebank
from .heads import head_label
from .syntax import MAX_BATCH, MAX_PIECES, Prepared, prepare
from .wordlevel import word_attention, word_maps

RANDOM_SEED = 0


def max_spanning_tree(scores: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Undirected maximum spanning trees of many symmetric matrices at once (Prim's algorithm from node 0).

    scores: (N, W, W) symmetric; valid: (N, W) bool, False for padding nodes (node 0 must be valid).
    Returns (N, W) long: each node's neighbour towards node 0 in the tree (its "parent"), -1 for
    node 0 and for padding. W steps, each a few (N, W) operations: no Python loop over matrices.
    For a minimum spanning tree pass -scores.
    """
    N, W, _ = scores.shape
    in_tree = torch.zeros(N, W, dtype=torch.bool, device=scores.device) if valid is None else ~valid
    in_tree[:, 0] = True
    outside = in_tree.clone()                                   # node 0 and padding: no parent
    key = scores[:, 0, :].masked_fill(in_tree, float("-inf"))   # best weight from the tree to each node
    best_from = torch.zeros(N, W, dtype=torch.long, device=scores.device)  # ... and where it comes from
    for _ in range(W - 1):
        nearest = key.argmax(-1, keepdim=True)                  # (N, 1) first maximum: lowest index
        in_tree.scatter_(1, nearest, True)                      # once a smaller tree is complete: node 0 again
        key.scatter_(1, nearest, float("-inf"))
        candidate = scores.gather(1, nearest.unsqueeze(-1).expand(N, 1, W)).squeeze(1).masked_fill_(
            in_tree, float("-inf"))                             # (N, W): weights from the node just added
        better = candidate > key
        key = torch.maximum(key, candidate)
        best_from = torch.where(better, nearest, best_from)
    # a node's best_from no longer changes once it is in the tree: it is the node's parent
    return best_from.masked_fill_(outside, -1)


def tree_edges(parent: Sequence[int]) -> set[tuple[int, int]]:
    """Undirected edges (lower index first) of a tree given as parents (-1: none)."""
    return {(min(child, p), max(child, p)) for child, p in enumerate(parent) if p >= 0}


def gold_edges(sentence: Sentence) -> set[tuple[int, int]]:
    """The gold tree's undirected edges between 0-based words (the root's arc to 0 is no edge)."""
    return {(min(i, h - 1), max(i, h - 1)) for i, h in enumerate(sentence.heads) if h > 0}


def directed_tree(attention: np.ndarray) -> list[int]:
    """Maximum spanning arborescence of word attention read as dependent → head (A[d, h] weighs the arc
    h → d; Edmonds' algorithm, networkx). Returns 1-based heads, 0 for the root, like CoNLL-U."""
    import networkx as nx

    W = attention.shape[0]
    graph = nx.DiGraph()
    graph.add_nodes_from(range(W))
    graph.add_weighted_edges_from((h, d, float(attention[d, h])) for d in range(W) for h in range(W) if h != d)
    tree = nx.maximum_spanning_arborescence(graph, attr="weight", preserve_attrs=True)
    heads = [0] * W
    for h, d in tree.edges():
        heads[d] = h + 1
    return heads


def uas(predicted_heads: Sequence[int], sentence: Sentence) -> float:
    """Share of words whose predicted head (1-based, 0 root) is the gold one."""
    return sum(p == g for p, g in zip(predicted_heads, sentence.heads, strict=True)) / len(sentence.heads)


@dataclass(frozen=True)
class TreeResult:
    """Edge counts behind every number the page and the CLI show."""
    model: str
    sentences: int                 # analysed
    skipped: int                   # malformed, one word, or over MAX_PIECES pieces
    notes: tuple[str, ...]         # why each skipped sentence was skipped, with line numbers
    edges: int                     # gold edges of the analysed sentences: Σ (words − 1)
    found: np.ndarray              # (L, nh + 1) gold edges in each head's tree; column nh: the layer mean
    right_branching: int           # gold edges between neighbours
    random: int                    # gold edges in the random trees

    @property
    def uuas(self) -> np.ndarray:
        """(L, nh + 1) UUAS; the last column is the layer's mean over heads."""
        return self.found / self.edges

    def best_head(self) -> tuple[int, int]:
        """0-based (layer, head) with the highest UUAS; ties to the lowest layer, then head."""
        heads = self.found[:, :-1]
        layer, head = np.unravel_index(int(heads.argmax()), heads.shape)   # argmax: first maximum
        return int(layer), int(head)

    def to_json(self) -> dict:
        uuas = self.uuas
        return {
            "model": self.model, "sentences": self.sentences, "skipped": self.skipped, "edges": self.edges,
            "heads": uuas[:, :-1].tolist(), "layer_mean": uuas[:, -1].tolist(),
            "best_head": head_label(*self.best_head()),
            "baselines": {"right_branching": self.right_branching / self.edges, "random": self.random / self.edges},
        }


def prepare_treebank(tokenizer, treebank: Treebank) -> tuple[list[Sentence], list[Prepared], list[str]]:
    """The sentences to analyse, tokenized, and a note for each one skipped (malformed, one word, too long)."""
    notes = [str(problem) for problem in treebank.problems]
    kept, prepared = [], []
    for sentence in treebank.sentences:
        if len(sentence.words) < 2:
            notes.append(f"line {sentence.line}: one word, no edge to find; skipped")
            continue
        ready = prepare(tokenizer, sentence)
        if ready is None:
            notes.append(f"line {sentence.line}: over {MAX_PIECES} word pieces, skipped")
            continue
        kept.append(sentence)
        prepared.append(ready)
    return kept, prepared, notes


@torch.inference_mode()
def head_matrices(model, batch: Sequence[Prepared]) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L, nh + 1, W, W) word-level attention of every head and, last, each layer's mean over heads;
    and (B, W) bool: the words of each sentence (False: padding)."""
    W = max(len(p.gold) for p in batch)
    input_ids, attention_mask, token_type_ids = padded_inputs([p.input_ids for p in batch],
                                                              pad_token_id=model.config.pad_token_id,
                                                              device=model.device)
    maps = word_maps(pad_rows([p.word_ids for p in batch], -1).to(model.device), W)
    out = model(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, output_attentions=True)
    layers = []
    for layer_attention in out.attentions:
        words = word_attention(layer_attention.float(), maps)                # (B, nh, W, W)
        layers.append(torch.cat([words, words.mean(1, keepdim=True)], 1))
    lengths = torch.tensor([len(p.gold) for p in batch], device=model.device)
    return torch.stack(layers, 1), torch.arange(W, device=model.device) < lengths[:, None]


def found_edges(parent: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """Gold edges in each decoded tree. parent: (B, M, W) from max_spanning_tree; gold: (B, W, W) bool,
    symmetric (padding rows False). Returns (B, M) long."""
    has_parent = parent >= 0
    index = parent.clamp(min=0).unsqueeze(-1)                                  # (B, M, W, 1)
    rows = gold.unsqueeze(1).expand(-1, parent.shape[1], -1, -1)                # (B, M, W, W)
    hit = rows.gather(-1, index).squeeze(-1) & has_parent
    return hit.sum(-1)


def gold_adjacency(sentences: Sequence[Sentence], W: int, device) -> torch.Tensor:
    """(B, W, W) bool: the gold trees' undirected edges."""
    gold = torch.zeros(len(sentences), W, W, dtype=torch.bool)
    for b, sentence in enumerate(sentences):
        for i, h in enumerate(sentence.heads):
            if h > 0:
                gold[b, i, h - 1] = gold[b, h - 1, i] = True
    return gold.to(device)


def baselines(sentences: Sequence[Sentence], seed: int = RANDOM_SEED) -> tuple[int, int]:
    """(right-branching, random-tree) gold edges found on these sentences."""
    right = sum(sum(abs(a - b) == 1 for a, b in gold_edges(s)) for s in sentences)
    rng = np.random.default_rng(seed)
    by_length: dict[int, list[tuple[Sentence, np.ndarray]]] = {}
    for sentence in sentences:                 # drawn in file order, so the trees do not depend on batching
        n = len(sentence.words)
        weights = np.triu(rng.random((n, n)), 1)
        by_length.setdefault(n, []).append((sentence, weights + weights.T))
    random_found = 0
    for n, group in by_length.items():         # one batched decoding per sentence length
        parents = max_spanning_tree(torch.from_numpy(np.stack([w for _, w in group])))
        gold = gold_adjacency([s for s, _ in group], n, "cpu")
        random_found += int(found_edges(parents[:, None], gold).sum())
    return right, random_found


def decode_treebank(model, tokenizer, treebank: Treebank, *, model_name: str = DEFAULT_MODEL, seed: int = RANDOM_SEED,
                    progress: Callable[[int, int], None] | None = None,
                    cost_limit: int | None = None) -> TreeResult:
    """UUAS of every layer × head (and layer mean) on a treebank, with the baselines.
    progress(done, total) after each batch; cost_limit bounds batch × T² per forward."""
    sentences, prepared, notes = prepare_treebank(tokenizer, treebank)
    L, nh = model.config.num_hidden_layers, model.config.num_attention_heads
    found = torch.zeros(L * (nh + 1), dtype=torch.long)
    if cost_limit is None:
        cost_limit = 2 ** 17 if model.device.type == "cpu" else 2 ** 22
    batches = length_batches([len(p.input_ids) for p in prepared], batch_size=MAX_BATCH, cost_limit=cost_limit)
    done = 0
    if progress is not None:
        progress(0, len(prepared))
    for batch in batches:
        matrices, valid = head_matrices(model, [prepared[i] for i in batch])  # (B, L, nh+1, W, W)
        B, W = valid.shape
        symmetric = (matrices + matrices.mT) / 2
        M = L * (nh + 1)
        parent = max_spanning_tree(symmetric.reshape(B * M, W, W), valid.repeat_interleave(M, 0))
        gold = gold_adjacency([sentences[i] for i in batch], W, model.device)
        found += found_edges(parent.reshape(B, M, W), gold).sum(0).cpu()
        done += len(batch)
        if progress is not None:
            progress(done, len(prepared))
    right, random_found = baselines(sentences, seed)
    return TreeResult(model_name, len(prepared), len(notes), tuple(notes),
                      sum(len(s.words) - 1 for s in sentences), found.reshape(L, nh + 1).numpy(), right, random_found)


@dataclass(frozen=True)
class SentenceTrees:
    """One sentence's decoded trees: every head's and every layer mean's."""
    sentence: Sentence
    attention: np.ndarray     # (L, nh + 1, W, W) word-level attention; [:, nh] the layer mean
    parents: np.ndarray       # (L, nh + 1, W) undirected MST as parents towards word 0 (-1 for word 0)

    def edges(self, layer: int, head: int) -> set[tuple[int, int]]:
        return tree_edges(self.parents[layer, head].tolist())

    def uuas(self) -> np.ndarray:
        """(L, nh + 1) UUAS on this sentence."""
        gold = gold_edges(self.sentence)
        return np.array([[len(tree_edges(p.tolist()) & gold) for p in layer] for layer in self.parents]) / len(gold)


def decode_sentence(model, tokenizer, sentence: Sentence) -> SentenceTrees:
    """Every head's tree for one sentence. Raises ValueError for a sentence of one word or over MAX_PIECES."""
    if len(sentence.words) < 2:
        raise ValueError("the sentence has one word: there is no edge to find")
    prepared = prepare(tokenizer, sentence)
    if prepared is None:
        raise ValueError(f"the sentence is over {MAX_PIECES} word pieces; BERT reads at most {MAX_PIECES + 2} "
                         "with [CLS] and [SEP]")
    matrices, _ = head_matrices(model, [prepared])
    matrices = matrices[0]                                                    # (L, nh+1, W, W)
    L, M, W, _ = matrices.shape
    parent = max_spanning_tree(((matrices + matrices.mT) / 2).reshape(L * M, W, W))
    return SentenceTrees(sentence, matrices.cpu().numpy(), parent.reshape(L, M, W).cpu().numpy())
