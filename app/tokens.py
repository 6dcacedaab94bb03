"""Word pieces and input embeddings, for the "Tokens and embeddings" page.

BERT's input embedding of token i is E = T[id_i] + S[segment_i] + P[i] (token, segment and
position tables), then LayerNorm. These functions take those parts apart for one input and
describe the model's size beside the BERT family (tiny … large).
"""
from __future__ import annotations

import json

import numpy as np
import torch

from bert_core import PRESETS, BertModel, Encoding

PARTS = ("token", "segment", "position", "summed", "normalized")
PART_LABELS = {"token": "token T", "segment": "segment S", "position": "position P",
               "summed": "E = T + S + P", "normalized": "LayerNorm(E)"}


def token_rows(enc: Encoding) -> list[dict]:
    """One row per word piece: position, piece, id, segment (A/B), and what kind of piece it is (a word's
    first piece or a continuation, from the tokenizer's word alignment, whatever its marks: ## or Ġ/▁)."""
    starts = {word.pieces[0] for word in enc.words if word.pieces}
    rows = []
    for position, (piece, token_id, segment, special) in enumerate(
            zip(enc.tokens, enc.input_ids, enc.token_type_ids, enc.special, strict=True)):
        continuation = "continuation (##)" if piece.startswith("##") else "continuation"
        kind = "special" if special else "word start" if position in starts else continuation
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


# The tokenizer, step by step ---------------------------------------------------------------------------

TOKENIZER_KINDS = {
    "WordPiece": "WordPiece (BERT): a piece that continues a word starts with `##`",
    "BPE": "byte-level BPE (RoBERTa): text as bytes; `Ġ` is the space before a word, kept in its first piece",
    "Unigram": "SentencePiece Unigram (ALBERT, XLM-R): `▁` marks the start of a word (the space before it)",
}


def tokenizer_kind(tokenizer) -> str:
    """"WordPiece", "BPE" or "Unigram" (or whatever model the tokenizer.json names)."""
    # The class's name is the "type" tokenizer.json gives; reading it from the model's state would serialise
    # the whole vocabulary (a fifth of a class's server time went there, bench/RESULTS.md "Classroom load").
    return type(tokenizer.backend_tokenizer.model).__name__


def tokenizer_steps(tokenizer, text_a: str, text_b: str = "") -> list[dict]:
    """The tokenizer's four stages on the input, each as {step, component, result}: the normaliser
    (e.g. lower-casing, accents stripped), the pre-tokeniser (words, with character spans), the model
    (each word into vocabulary pieces) and the post-processor (special tokens, segments)."""
    backend = tokenizer.backend_tokenizer
    texts = [t for t in (text_a, text_b) if t]
    normalizer, pre_tokenizer = backend.normalizer, backend.pre_tokenizer
    normalized = [normalizer.normalize_str(t) if normalizer is not None else t for t in texts]
    words = [pre_tokenizer.pre_tokenize_str(t) if pre_tokenizer is not None else [(t, (0, len(t)))]
             for t in normalized]
    pieces = [[token.value for word, _ in sentence for token in backend.model.tokenize(word)] for sentence in words]
    final = tokenizer(text_a, text_b or None)
    return [
        {"step": "1. normaliser", "component": _component(normalizer), "result": " | ".join(normalized)},
        {"step": "2. pre-tokeniser", "component": _component(pre_tokenizer),
         "result": " | ".join(" ".join(w for w, _ in sentence) for sentence in words)},
        {"step": "3. model", "component": tokenizer_kind(tokenizer),
         "result": " | ".join(" ".join(sentence) for sentence in pieces)},
        {"step": "4. post-processor", "component": _component(backend.post_processor),
         "result": " ".join(final.tokens())},
    ]


def _component(part) -> str:
    """A tokenizer component by its type, with the settings that change the text (BertNormalizer's
    lowercase …); "none" when the tokenizer has no such stage."""
    if part is None:
        return "none"
    described = json.loads(part.__getstate__())
    steps = described.get("normalizers") or described.get("pretokenizers") or described.get("processors")
    if steps:
        return " → ".join(step["type"] for step in steps)
    flags = [name for name in ("lowercase", "strip_accents", "add_prefix_space") if described.get(name)]
    return described["type"] + (f" ({', '.join(flags)})" if flags else "")
