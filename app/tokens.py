"""Word pieces and input embeddings, for the "Tokens and embeddings" page.

BERT's input embedding of token i is E = T[id_i] + S[segment_i] + P[i] (token, segment and
position tables), then LayerNorm. These functions take those parts apart for one input and
describe the model's size beside the BERT family (tiny … large).
"""
from __future__ import annotations

import numpy as np
import torch

from bert_core import PRESETS, BertModel, Encoding

PARTS = ("token", "segment", "position", "summed", "normalized")
PART_LABELS = {"token": "token T", "segment": "segment S", "position": "position P",
               "summed": "E = T + S + P", "normalized": "LayerNorm(E)"}


def token_rows(enc: Encoding) -> list[dict]:
    """One row per word piece: position, piece, id, segment (A/B), and what kind of piece it is."""
    rows = []
    for position, (piece, token_id, segment, special) in enumerate(
            zip(enc.tokens, enc.input_ids, enc.token_type_ids, enc.special, strict=True)):
        kind = "special" if special else "continuation (##)" if piece.startswith("##") else "word start"
        rows.append({"position": position, "piece": piece, "id": token_id,
                     "segment": "AB"[segment] if segment < 2 else str(segment), "kind": kind})
    return rows


def embedding_parts(model: BertModel, enc: Encoding) -> dict[str, np.ndarray]:
    """The input embedding's parts for each token, as (T, H) float32 arrays keyed by PARTS."""
    device = model.device
    with torch.inference_mode():
        out = model(**enc.to_tensors(device), output_embeddings=True)
    return {name: getattr(out.embeddings, name)[0].detach().float().cpu().numpy() for name in PARTS}


def part_norms(parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Euclidean norm of each part for each token: (T,) per part."""
    return {name: np.linalg.norm(parts[name], axis=-1) for name in PARTS}


def part_shares(parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """How much of E each part carries: ⟨part, E⟩ / ‖E‖², per token. The three shares sum to 1
    exactly (E is their sum); a negative share means the part points away from E."""
    summed = parts["summed"]
    energy = (summed * summed).sum(-1)
    return {name: (parts[name] * summed).sum(-1) / energy for name in ("token", "segment", "position")}


def count_parameters(config, *, pooler: bool = True) -> int:
    """Parameters of a BERT with this config (encoder, embeddings, pooler), built on the meta
    device: no memory is allocated, so even BERT-large is counted instantly."""
    with torch.device("meta"):
        return BertModel(config, pooler=pooler).num_parameters()


def model_card(model: BertModel) -> dict[str, int | str]:
    """The model's shape and its parameter count, counted from its own tensors."""
    config = model.config
    return {"layers": config.num_hidden_layers, "heads": config.num_attention_heads,
            "width (hidden size)": config.hidden_size, "head size": config.head_dim,
            "intermediate size": config.intermediate_size, "vocabulary": config.vocab_size,
            "max positions": config.max_position_embeddings,
            "parts": ", ".join(("encoder",) + model.heads),
            "parameters": model.num_parameters()}


def size_family(model: BertModel, name: str) -> list[dict]:
    """The BERT size family (PRESETS, tiny … large) with parameters counted on the meta device,
    and this model in the same columns, ordered by size."""
    rows = [{"model": preset, "layers": c.num_hidden_layers, "heads": c.num_attention_heads,
             "width": c.hidden_size, "intermediate": c.intermediate_size, "parameters": count_parameters(c)}
            for preset, c in PRESETS.items() if preset.startswith("bert-")]
    c = model.config
    rows.append({"model": f"{name} (this model)", "layers": c.num_hidden_layers, "heads": c.num_attention_heads,
                 "width": c.hidden_size, "intermediate": c.intermediate_size,
                 "parameters": model.num_parameters()})
    return sorted(rows, key=lambda row: row["parameters"])
