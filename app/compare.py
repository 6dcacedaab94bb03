"""Two models side by side, and the BERT family's flavours, for the "Compare two models" page.

- Flavours: each published configuration (bert_core's PRESETS and FAMILY_PRESETS) built on PyTorch's
  meta device (shapes only, no memory), so the parameter counts are those of the real architecture.
  Counted: embeddings, encoder and the pooler where the family has one (BERT, RoBERTa, ALBERT), as
  transformers' BertModel/RobertaModel/AlbertModel/DistilBertModel/ElectraModel count them.
- Per layer, for one sentence: attention entropy (bits) and mean attention distance (word pieces),
  each the mean over heads and query tokens (app/overview.py's definitions), and the similarity of
  a word's vector (mean of its pieces) in two sentences, cosine at every layer (0 = embedding output).
- Parameters by part: embeddings (with ALBERT's/ELECTRA's E → H projection), each distinct layer
  (ALBERT's shared layer once, for all the layers that use it), pooler, pre-training heads.
"""
from __future__ import annotations

import numpy as np
import torch

from bert_core import FAMILY_PRESETS, PRESETS, BertConfig, BertModel
from bert_core.weights import FAMILY_HEADS, family

from . import overview, polysemy

# (preset, label, what changed against BERT, the parameters its paper or model card states)
FLAVOURS = [
    ("bert-base", "BERT-base", "the original: WordPiece, segments A/B, masked LM + next-sentence prediction", 110e6),
    ("bert-large", "BERT-large", "24 layers, 1024 wide, 16 heads", 340e6),
    ("roberta-base", "RoBERTa-base", "more data, longer training, dynamic masking, no NSP; byte-level BPE "
                                     "(50k), one segment, positions start after the padding index", 125e6),
    ("roberta-large", "RoBERTa-large", "RoBERTa at BERT-large's size", 355e6),
    ("distilbert-base", "DistilBERT", "distilled from BERT-base: 6 layers, no segments, no pooler, "
                                      "40 % fewer parameters", 66e6),
    ("albert-base", "ALBERT-base", "factorised embeddings (E = 128 → H), one layer's weights shared by all 12 "
                                   "layers, sentence-order prediction", 12e6),
    ("albert-large", "ALBERT-large", "ALBERT at BERT-large's shape: 18M parameters against 335M", 18e6),
    ("electra-base", "ELECTRA-base", "replaced-token detection: a discriminator trained against a small "
                                     "generator; no pooler", 110e6),
]


def count_parameters(config: BertConfig) -> int:
    """Parameters of the encoder (and pooler where the family has one), counted on the meta device."""
    with torch.device("meta"):
        return BertModel(config, pooler="pooler" in FAMILY_HEADS[family(config)]).num_parameters()


def flavours() -> list[dict]:
    """The flavours table: one row per FLAVOURS entry, shapes from its configuration."""
    rows = []
    for preset, label, changed, published in FLAVOURS:
        c = PRESETS.get(preset) or FAMILY_PRESETS[preset]
        rows.append({"model": label, "model_type": c.model_type, "layers": c.num_hidden_layers,
                     "distinct layer weights": c.layer_groups, "width H": c.hidden_size,
                     "embedding E": c.embedding_width, "heads": c.num_attention_heads,
                     "vocabulary": c.vocab_size, "parameters": count_parameters(c),
                     "published": f"{published / 1e6:g}M", "what changed": changed})
    return rows


def parameters_by_part(model: BertModel) -> dict[str, int]:
    """{part: parameters}: embeddings, each distinct layer ("layer 1", or "layers 1–12 (shared)"),
    pooler, and each pre-training head; the parts add up to model.num_parameters()."""
    def size(module) -> int:
        return sum(p.numel() for p in module.parameters())

    parts = {"embeddings": size(model.embeddings)}
    layers = list(model.encoder.layer)
    for i, layer in enumerate(layers):
        if any(layer is earlier for earlier in layers[:i]):
            continue
        users = [j + 1 for j, other in enumerate(layers) if other is layer]
        name = f"layer {users[0]}" if len(users) == 1 else f"layers {users[0]}–{users[-1]} (shared)"
        parts[name] = size(layer)
    if model.pooler is not None:
        parts["pooler"] = size(model.pooler)
    heads = {"masked-LM head": model.cls.predictions, "sentence-pair head": model.cls.seq_relationship,
             "replaced-token head": model.cls.discriminator_predictions}
    parts.update({name: size(head) for name, head in heads.items() if head is not None})
    return parts


def layer_attention_statistics(attentions: np.ndarray) -> dict[str, list[float]]:
    """attentions (L, nh, T, T) → per layer: entropy (bits) and mean distance, each averaged over heads."""
    return {"entropy": overview.attention_entropy(attentions).mean(-1).tolist(),
            "distance": overview.mean_distance(attentions).mean(-1).tolist()}


def word_similarity_curve(model, tokenizer, word: str, sentence_a: str, sentence_b: str) -> list[float] | None:
    """Cosine of `word`'s vector in the two sentences at each layer 0…L; None when a sentence lacks it."""
    comparison = polysemy.compare_word(model, tokenizer, word, [sentence_a, sentence_b], [0, 0])
    if len(comparison.compared) < 2:
        return None
    return [float(s[0, 1]) for s in comparison.similarities]


def relative_layers(values: list[float]) -> list[float]:
    """Positions 0…1 for values at layers 0…L (or 1…L), so models of different depths share an axis."""
    n = len(values)
    return [i / (n - 1) if n > 1 else 0.0 for i in range(n)]


def syntax_summary(results: dict[str, object], top: int = 8) -> list[dict]:
    """The syntactic-head summary of several models side by side: for "all" and the `top` most
    frequent relations of the first model's result, each model's best head (dependent → head, chosen
    and scored on every sentence, as Clark et al.'s table) with its accuracy, and the best fixed offset."""
    tables = {name: result.relation_table(0) for name, result in results.items()}
    first = next(iter(tables.values()))
    rows = []
    for relation in list(first)[:top + 1]:  # "all" first, then by count
        row = {"relation": relation, "count": first[relation]["count"]}
        for name, table in tables.items():
            entry = table.get(relation)
            row[f"{name}: best head"] = entry["best_head"] if entry else "–"
            row[f"{name}: accuracy"] = round(entry["accuracy"], 3) if entry else None
        row["best offset"] = f"{first[relation]['baseline_offset']:+d}"
        row["offset accuracy"] = round(first[relation]["baseline_accuracy"], 3)
        rows.append(row)
    return rows
