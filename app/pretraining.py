"""BERT's two pre-training tasks, computed: masked words, the next sentence, and how the data were made.

Plain functions, no Streamlit; the Pre-training pages, `python -m app fill-mask|nsp|pll` and the
tests call them. Conventions (the pages and README state them too):
- Probabilities are softmax(logits / temperature) over the whole vocabulary; temperature 1 is the
  model's own distribution. Words a user lists (`targets`, as transformers' fill-mask) are scored
  within that same distribution, not renormalised among themselves; a word that is not one piece
  is scored by its first piece.
- The masked-LM lens applies the checkpoint's MLM head (dense, GELU, LayerNorm, the tied decoder
  and its bias) to the hidden state that encoder layer l (1…L) outputs at each masked position.
  Only those positions go through the head, one small matmul per layer; at layer L the lens is the
  model's own prediction.
- PLL-word-l2r (Kauf & Ivanova 2023, after Salazar et al. 2020): a sentence's pseudo-log-likelihood
  is the sum over its word pieces of log P(piece | the rest), natural log, where scoring a piece
  masks that piece and the LATER pieces of the same word (the earlier ones stay visible). A word's
  score is the sum over its pieces. Words are the tokenizer's words (punctuation is a word).
- NSP: P(IsNext) is the softmax of the NSP head's two scores (index 0: B follows A), which read the
  pooled [CLS] vector tanh(W·h_[CLS] + b).
- The masking simulator follows Google's create_pretraining_data.py: round(15 %) of the sentence's
  pieces (at least one) are chosen; each chosen piece becomes [MASK] with probability 0.8, a token
  drawn uniformly from the whole vocabulary with 0.1, and stays with 0.1. Whole-word masking
  chooses whole words until the count is reached (a word that would overshoot it is skipped).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bert_core import BertModel, Encoding, encode
from bert_core.align import max_pieces

MAX_MASKS = 10        # masks at once: beyond that most of a sentence is hidden and the lens table unreadable
TOP_K = 5
MASK_RATE, MASK_SHARE, RANDOM_SHARE = 0.15, 0.8, 0.1  # BERT's recipe; the remaining 0.1 stay unchanged
PLL_BATCH = 64        # masked copies of a sentence per forward
CORPUS = Path(__file__).resolve().parents[1] / "data" / "nsp_corpus.txt"

HEAD_NAMES = {"mlm": "masked-LM head (cls.predictions.*)", "nsp": "next-sentence head (cls.seq_relationship.*)"}
HOW_TO_LOAD = ("Use a checkpoint that has it (the sidebar's Model box, or --model): a folder saved from transformers' "
               "BertForPreTraining (both heads) or BertForMaskedLM (masked-LM head only), or, where there is a "
               "network, a hub id such as bert-base-uncased (both heads).")


class PretrainingError(ValueError):
    """Input these analyses cannot use; the message says why in one line, for a page or the CLI."""


def missing_head(model: BertModel, head: str, model_name: str) -> str | None:
    """Why the model cannot do the task of `head` ("mlm" or "nsp") and how to load one that can; None
    when it has the head. Predictions only ever come from a checkpoint's own saved head: the loader
    builds a head only from its weights, never initialised at random."""
    return None if head in model.heads else f"the model {model_name!r} has no {HEAD_NAMES[head]}. {HOW_TO_LOAD}"


def require_head(model: BertModel, head: str, model_name: str) -> None:
    """PretrainingError (with missing_head's message) unless the model has `head`."""
    missing = missing_head(model, head, model_name)
    if missing:
        raise PretrainingError(missing)


# ---------------------------------------------------------------------------------------- masking

@dataclass(frozen=True)
class MaskedInput:
    encoding: Encoding            # the input as the model reads it, [MASK] at every masked piece
    positions: tuple[int, ...]    # the masked pieces, in order (index in encoding.tokens)
    hidden: tuple[str, ...]       # what each one hid: its piece, or "[MASK]" where [MASK] was typed


def _check_length(tokenizer, text_a: str, text_b: str | None = None) -> Encoding:
    """The encoding, or PretrainingError when the text is longer than the model reads (masks or words
    would silently fall off the end)."""
    enc = encode(tokenizer, text_a, text_b)
    if enc.truncated:
        full = len(encode(tokenizer, text_a, text_b, max_length=10**9))
        raise PretrainingError(f"the input is {full:,} word pieces long; BERT reads at most {max_pieces(tokenizer)}: "
                               "shorten it")
    return enc


def mask_input(tokenizer, text_a: str, text_b: str = "", *, words: tuple[int, ...] = (),
               pieces: tuple[int, ...] = ()) -> MaskedInput:
    """The sentence(s) with [MASK] where it was typed, at every piece of the picked `words` (indices
    into encode(tokenizer, text_a, text_b).words: a whole word masks all its pieces) and at the
    picked `pieces` (positions). PretrainingError for nothing masked, more than MAX_MASKS, a special
    token picked or typed ([CLS], [SEP] belong to BERT's frame), or an input over the model's length."""
    enc = _check_length(tokenizer, text_a, text_b)
    mask_id = tokenizer.mask_token_id
    frame = {tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id}
    typed_frame = [p for p, (i, special) in enumerate(zip(enc.input_ids, enc.special, strict=True))
                   if i in frame and not special]
    if typed_frame:
        raise PretrainingError(f"{enc.tokens[typed_frame[0]]} is typed in the text (piece {typed_frame[0]}): only "
                               "[MASK] may be typed; [CLS] and [SEP] are BERT's frame around the sentences")
    chosen = {p for p, i in enumerate(enc.input_ids) if i == mask_id}
    for w in words:
        if not 0 <= w < len(enc.words):
            raise PretrainingError(f"word {w} does not exist: the input has {len(enc.words)} words")
        chosen.update(enc.words[w].pieces)
    for p in pieces:
        if not 0 <= p < len(enc) or enc.special[p]:
            what = f"is {enc.tokens[p]}" if 0 <= p < len(enc) else "does not exist"
            raise PretrainingError(f"piece {p} {what}: only the sentence's own pieces can be masked, not [CLS] or "
                                   "[SEP]")
        chosen.add(p)
    if not chosen:
        raise PretrainingError("nothing is masked: type [MASK] in the sentence (in capitals) or pick words to mask")
    if len(chosen) > MAX_MASKS:
        raise PretrainingError(f"{len(chosen)} pieces are masked: at most {MAX_MASKS} at once")
    positions = tuple(sorted(chosen))
    ids = list(enc.input_ids)
    for p in positions:
        ids[p] = mask_id
    masked = Encoding(input_ids=ids, token_type_ids=enc.token_type_ids,
                      tokens=tokenizer.convert_ids_to_tokens(ids), offsets=enc.offsets, words=enc.words,
                      truncated=False, special=enc.special)
    return MaskedInput(masked, positions, tuple(enc.tokens[p] for p in positions))


def masked_texts(tokenizer, text_a: str, text_b: str, words: tuple[int, ...]) -> tuple[str, str]:
    """The sentences with each picked word written as one [MASK] per piece: typed back, they give
    mask_input's input (for pages that open on the masked sentence, such as Attention views)."""
    texts = [text_a, text_b]
    enc = encode(tokenizer, text_a, text_b)
    for word in sorted((enc.words[w] for w in set(words)), key=lambda w: -w.start):  # right to left: spans stay valid
        texts[word.segment] = texts[word.segment][:word.start] + "[MASK]" * len(word.pieces) + \
            texts[word.segment][word.end:]
    return texts[0], texts[1]


# ---------------------------------------------------------------------- predictions and the lens

@dataclass(frozen=True)
class Prediction:
    token: str
    probability: float

    def to_json(self) -> dict:
        return {"token": self.token, "probability": self.probability}


@dataclass(frozen=True)
class FillMaskRun:
    masked: MaskedInput
    logits: np.ndarray   # (M, L, V) float32: the MLM head on layer l's (1…L) hidden state at mask m

    @property
    def num_layers(self) -> int:
        return self.logits.shape[1]


def lens_logits(model: BertModel, hidden_states: tuple[torch.Tensor, ...], positions) -> torch.Tensor:
    """(M, L, V): the MLM head on each encoder layer's output (hidden_states[1:], batch of one) at
    `positions` only: each layer's (M, H) rows through the head, never the decoder over the sentence."""
    rows = torch.stack([h[0, list(positions)] for h in hidden_states[1:]], dim=1)  # (M, L, H)
    return model.mlm_logits(rows)


def run_fill_mask(model: BertModel, masked: MaskedInput) -> FillMaskRun:
    """One forward with hidden states, then the lens at the masked positions (model must have "mlm")."""
    with torch.inference_mode():
        out = model(**masked.encoding.to_tensors(model.device), output_hidden_states=True)
        logits = lens_logits(model, out.hidden_states, masked.positions)
    return FillMaskRun(masked, logits.float().cpu().numpy())


def probabilities(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / temperature) over the last axis, in float64."""
    if temperature <= 0:
        raise PretrainingError(f"temperature {temperature} must be above 0")
    scaled = logits.astype(np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    e = np.exp(scaled)
    return e / e.sum(axis=-1, keepdims=True)


def target_ids(tokenizer, words: list[str]) -> tuple[list[int], list[str]]:
    """(vocabulary ids, notes) for the words a user lists, as transformers' fill-mask `targets`: a
    word in the vocabulary is its own id; any other is scored by its first piece (a note says so)."""
    ids, notes = [], []
    vocab = tokenizer.backend_tokenizer.get_vocab()
    for word in dict.fromkeys(w.strip() for w in words if w.strip()):
        if word in vocab:
            ids.append(vocab[word])
            continue
        pieces = tokenizer(word, add_special_tokens=False)["input_ids"]
        if not pieces:
            notes.append(f"{word!r} has no word pieces and is left out")
            continue
        if len(pieces) > 1 or tokenizer.convert_ids_to_tokens(pieces[0]) != word:
            notes.append(f"{word!r} is not in the vocabulary as typed: scored by "
                         f"{tokenizer.convert_ids_to_tokens(pieces[0])!r}, its first piece")
        ids.append(pieces[0])
    return list(dict.fromkeys(ids)), notes


def top_k(probs: np.ndarray, tokenizer, k: int = TOP_K, targets: list[int] | None = None) -> list[Prediction]:
    """The k most probable tokens of a (V,) distribution, highest first; with `targets`, only those
    ids are ranked (their probabilities stay those of the whole vocabulary)."""
    candidates = np.arange(len(probs)) if targets is None else np.asarray(targets, dtype=np.int64)
    k = min(k, len(candidates))
    best = candidates[np.argsort(-probs[candidates], kind="stable")[:k]]
    return [Prediction(tokenizer.convert_ids_to_tokens(int(i)), float(probs[i])) for i in best]


def pinned(probs: np.ndarray, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(ranks, probabilities), each (L, P), of token `ids` in (L, V) per-layer distributions;
    rank 1 is the most probable token (ties share the better rank)."""
    chosen = probs[:, ids]                                                  # (L, P)
    ranks = 1 + (probs[:, None, :] > chosen[:, :, None]).sum(-1)            # (L, P)
    return ranks, chosen


def fill_mask_json(model_name: str, run: FillMaskRun, tokenizer, k: int = TOP_K) -> dict:
    """The `python -m app fill-mask` output (temperature 1); the page shows the same numbers."""
    masks = []
    for m, position in enumerate(run.masked.positions):
        probs = probabilities(run.logits[m])                                # (L, V)
        masks.append({"position": position,
                      "predictions": [p.to_json() for p in top_k(probs[-1], tokenizer, k)],
                      "layers": [{"layer": layer + 1, "predictions": [p.to_json() for p in top_k(row, tokenizer, k)]}
                                 for layer, row in enumerate(probs)]})
    return {"model": model_name, "tokens": list(run.masked.encoding.tokens), "masks": masks}


# --------------------------------------------------------------------- pseudo-log-likelihood

@dataclass(frozen=True)
class WordScore:
    word: str
    score: float                  # sum of log P over its pieces (natural log)
    pieces: tuple[str, ...]


@dataclass(frozen=True)
class SentenceScore:
    text: str
    pll: float
    words: tuple[WordScore, ...]

    def to_json(self) -> dict:
        return {"text": self.text, "pll": self.pll, "words": [{"word": w.word, "score": w.score} for w in self.words]}


def pll_rows(enc: Encoding, mask_id: int) -> list[tuple[list[int], int, int]]:
    """PLL-word-l2r's masked copies: (input ids, scored position, its true id), one per word piece;
    the piece and the later pieces of its word are [MASK]."""
    rows = []
    for word in enc.words:
        for i, position in enumerate(word.pieces):
            ids = list(enc.input_ids)
            for later in word.pieces[i:]:
                ids[later] = mask_id
            rows.append((ids, position, enc.input_ids[position]))
    return rows


def pll_word_l2r(model: BertModel, tokenizer, text: str, batch_size: int = PLL_BATCH) -> SentenceScore:
    """The sentence's PLL-word-l2r and each word's share (see the module docstring)."""
    enc = _check_length(tokenizer, text)
    if not enc.words:
        raise PretrainingError("the sentence has no words to score")
    rows = pll_rows(enc, tokenizer.mask_token_id)
    scores = []
    segments = torch.tensor([enc.token_type_ids], device=model.device)
    with torch.inference_mode():
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            ids = torch.tensor([r[0] for r in chunk], device=model.device)
            hidden = model(ids, token_type_ids=segments.expand_as(ids)).last_hidden_state  # (n, T, H)
            at = hidden[torch.arange(len(chunk)), [r[1] for r in chunk]]                    # (n, H)
            logp = torch.log_softmax(model.mlm_logits(at).float(), dim=-1)                  # (n, V)
            scores += logp[torch.arange(len(chunk)), [r[2] for r in chunk]].tolist()
    words, n = [], 0
    for word in enc.words:
        k = len(word.pieces)
        words.append(WordScore(word.text, float(sum(scores[n:n + k])), tuple(enc.tokens[p] for p in word.pieces)))
        n += k
    return SentenceScore(text, float(sum(w.score for w in words)), tuple(words))


# ---------------------------------------------------------------------------- next sentence

@dataclass(frozen=True)
class NextSentence:
    text_a: str
    text_b: str
    is_next: float              # P(IsNext)
    pooled: np.ndarray          # (H,) the pooled [CLS] vector the NSP head reads


def next_sentence(model: BertModel, tokenizer, text_a: str, candidates: list[str]) -> list[NextSentence]:
    """P(IsNext) of each candidate B after A (model must have "nsp"); one forward per pair."""
    results = []
    with torch.inference_mode():
        for text_b in candidates:
            if not text_a.strip() or not text_b.strip():
                raise PretrainingError("next-sentence prediction needs two sentences, A and B")
            enc = _check_length(tokenizer, text_a, text_b)
            pooled = model(**enc.to_tensors(model.device)).pooler_output            # (1, H)
            p = torch.softmax(model.nsp_logits(pooled).float(), dim=-1)[0, 0]
            results.append(NextSentence(text_a, text_b, float(p), pooled[0].float().cpu().numpy()))
    return results


# ------------------------------------------------------------- how the training data are made

KEPT, MASKED, RANDOM = "kept", "[MASK]", "random token"


@dataclass(frozen=True)
class MaskingDraw:
    input_ids: list[int]              # what the model reads
    actions: dict[int, str]           # chosen position -> MASKED, RANDOM or KEPT; the label is its original id


def draw_masking(input_ids: list[int], special: list[bool], word_starts: list[bool], *, vocab_size: int,
                 mask_id: int, seed: int, whole_word: bool = False) -> MaskingDraw:
    """BERT's masking recipe on one input (see the module docstring), deterministic for a seed.
    word_starts[p]: piece p begins a word (False for ## continuations), used by whole-word masking."""
    rng = random.Random(seed)
    groups: list[list[int]] = []
    for p, is_special in enumerate(special):
        if is_special:
            continue
        if whole_word and groups and not word_starts[p]:
            groups[-1].append(p)
        else:
            groups.append([p])
    count = sum(len(g) for g in groups)
    to_predict = max(1, round(count * MASK_RATE)) if count else 0
    rng.shuffle(groups)
    chosen: list[int] = []
    for group in groups:
        if len(chosen) >= to_predict:
            break
        if len(chosen) + len(group) > to_predict:  # a whole word that would overshoot is skipped
            continue
        chosen += group
    ids, actions = list(input_ids), {}
    for p in sorted(chosen):
        u = rng.random()
        if u < MASK_SHARE:
            ids[p], actions[p] = mask_id, MASKED
        elif u < MASK_SHARE + RANDOM_SHARE:
            ids[p], actions[p] = rng.randrange(vocab_size), RANDOM
        else:
            actions[p] = KEPT
    return MaskingDraw(ids, actions)


def simulate_masking(tokenizer, text_a: str, text_b: str = "", *, seed: int = 0,
                     whole_word: bool = False) -> list[dict]:
    """One masking draw on the sentence(s): a row per piece (position, piece, segment, what the model
    reads, the label it must predict or "" where nothing is predicted, what happened)."""
    enc = encode(tokenizer, text_a, text_b)
    starts = [not t.startswith("##") for t in enc.tokens]
    draw = draw_masking(enc.input_ids, enc.special, starts, vocab_size=len(tokenizer),
                        mask_id=tokenizer.mask_token_id, seed=seed, whole_word=whole_word)
    read = tokenizer.convert_ids_to_tokens(draw.input_ids)
    return [{"position": p, "piece": piece, "segment": "AB"[min(segment, 1)], "model reads": read[p],
             "label": piece if p in draw.actions else "", "what happened": draw.actions.get(p, "")}
            for p, (piece, segment) in enumerate(zip(enc.tokens, enc.token_type_ids, strict=True))]


def read_corpus(path: Path = CORPUS) -> list[list[str]]:
    """The NSP corpus: documents separated by blank lines, one sentence per line; '#' lines are notes."""
    documents, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        if line.strip():
            current.append(line.strip())
        elif current:
            documents.append(current)
            current = []
    if current:
        documents.append(current)
    return documents


@dataclass(frozen=True)
class SentencePair:
    text_a: str
    text_b: str
    is_next: bool                 # the label: B really followed A in its document


def make_nsp_pair(documents: list[list[str]], seed: int) -> SentencePair:
    """BERT's NSP example: a sentence A from a document; half the time B is the sentence that follows
    it (IsNext), half the time a random sentence of another document (NotNext)."""
    rng = random.Random(seed)
    d = rng.randrange(len(documents))
    i = rng.randrange(len(documents[d]) - 1)
    a = documents[d][i]
    if rng.random() < 0.5:
        return SentencePair(a, documents[d][i + 1], True)
    other = rng.choice([j for j in range(len(documents)) if j != d])
    return SentencePair(a, rng.choice(documents[other]), False)


def pair_rows(tokenizer, pair: SentencePair) -> list[dict]:
    """[CLS] A [SEP] B [SEP] as the model reads it: one row per piece with its segment id."""
    enc = encode(tokenizer, pair.text_a, pair.text_b)
    return [{"position": p, "piece": t, "segment id": s} for p, (t, s) in
            enumerate(zip(enc.tokens, enc.token_type_ids, strict=True))]
