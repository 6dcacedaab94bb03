"""Tokenizing with the checkpoint's own tokenizer (bert_core/tokenizer.py); words ↔ word pieces.

Two ways in:
- encode(tokenizer, text_a, text_b): raw text; words are the tokenizer's own pre-tokenized
  words, each with its character span: BERT's WordPiece splits whitespace, then punctuation;
  byte-level BPE (RoBERTa) splits letters from punctuation, a word's leading space going into its
  first piece ("Ġ"); SentencePiece (ALBERT, XLM-R) splits on whitespace only ("▁" marks a word's
  start), so "dogs," is one word there. A word's span never includes the space before it.
- encode_words(tokenizer, words): text already split into words (a treebank's tokens); the
  words are exactly those given.
Both return an Encoding that knows, for each word, which pieces make it up.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Word:
    text: str
    segment: int                 # 0 for sentence A, 1 for sentence B
    start: int                   # character span in its own sentence (encode_words: in " ".join(words))
    end: int
    pieces: tuple[int, ...]      # token positions of its word pieces


@dataclass(frozen=True)
class Encoding:
    input_ids: list[int]
    token_type_ids: list[int]
    tokens: list[str]                    # "[CLS]", "the", "##ir", …
    offsets: list[tuple[int, int]]       # character span of each token in its sentence (encode_words: in
                                         # " ".join(words)); (0, 0) for specials
    words: list[Word]
    truncated: bool                      # the input was longer than max_length and was cut
    special: list[bool]                  # [CLS], [SEP]

    def __len__(self) -> int:
        return len(self.input_ids)

    def to_tensors(self, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """Model inputs for a batch of one."""
        return {
            "input_ids": torch.tensor([self.input_ids], device=device),
            "token_type_ids": torch.tensor([self.token_type_ids], device=device),
            "attention_mask": torch.ones(1, len(self.input_ids), dtype=torch.long, device=device),
        }


def max_pieces(tokenizer) -> int:
    """How many word pieces (specials included) the model reads; longer inputs are truncated."""
    limit = getattr(tokenizer, "model_max_length", 512)
    return 512 if not limit or limit > 100_000 else limit  # some tokenizers say "no limit" with 1e30


def _tokenize(tokenizer, first, second, max_length: int | None, **kwargs):
    limit = max_length if max_length is not None else max_pieces(tokenizer)
    batch = tokenizer(first, second, truncation="longest_first", max_length=limit,
                      return_offsets_mapping=True, return_special_tokens_mask=True, **kwargs)
    truncated = bool(batch.encodings[0].overflowing)  # the fast tokenizer keeps what it cut off
    if truncated:
        log.warning("input is longer than %d word pieces: truncated to %d", limit, limit)
    return batch, truncated


def _pieces_by_word(batch) -> dict[tuple[int, int], list[int]]:
    """(sequence, word index) -> token positions, in order, specials excluded."""
    pieces: dict[tuple[int, int], list[int]] = {}
    for position, (seq, wid) in enumerate(zip(batch.sequence_ids(0), batch.word_ids(0), strict=True)):
        if seq is not None and wid is not None:
            pieces.setdefault((seq, wid), []).append(position)
    return pieces


def _encoding(tokenizer, batch, words: list[Word], truncated: bool, offsets: list[tuple[int, int]]) -> Encoding:
    ids = batch["input_ids"]
    return Encoding(
        input_ids=list(ids),
        token_type_ids=list(batch.get("token_type_ids") or [0] * len(ids)),
        tokens=tokenizer.convert_ids_to_tokens(ids),
        offsets=offsets,
        words=words,
        truncated=truncated,
        special=[bool(s) for s in batch["special_tokens_mask"]],
    )


def encode(tokenizer, text_a: str, text_b: str | None = None, max_length: int | None = None) -> Encoding:
    """Tokenize a sentence or an A/B pair; longer inputs are cut to max_length (512) and flagged.
    A blank text_b means no second sentence (the tokenizer would treat "" and " " differently)."""
    if text_b is not None and not text_b.strip():
        text_b = None
    batch, truncated = _tokenize(tokenizer, text_a, text_b, max_length)
    texts, offsets = (text_a, text_b or ""), batch["offset_mapping"]
    spans = [[seq, offsets[p[0]][0], offsets[p[-1]][1], p] for (seq, _), p in _pieces_by_word(batch).items()]
    for i, (seq, start, end, pieces) in enumerate(spans):
        if not texts[seq][start:end].strip():  # a run of spaces alone (byte-level BPE's lone "Ġ") joins
            after = [s for s in spans[i + 1:] if s[0] == seq]  # the next word of its sentence, or the one before
            before = [s for s in spans[:i] if s[0] == seq and s[3]]
            if after or before:
                target = after[0] if after else before[-1]
                target[3] = sorted(target[3] + pieces)
                pieces.clear()
    words = []
    for seq, start, end, pieces in spans:
        if not pieces:
            continue
        start, end = offsets[pieces[0]][0], offsets[pieces[-1]][1]
        text = texts[seq][start:end]
        start += len(text) - len(text.lstrip())  # SentencePiece's "▁" piece spans the space before its word
        end -= len(text) - len(text.rstrip())
        words.append(Word(texts[seq][start:end], seq, start, end, tuple(pieces)))
    return _encoding(tokenizer, batch, words, truncated, [tuple(o) for o in offsets])


def encode_words(tokenizer, words: list[str], max_length: int | None = None) -> Encoding:
    """Tokenize a pre-split sentence: Encoding.words[i] is words[i], with no pieces if the
    tokenizer dropped it (control characters only) or truncation cut it off."""
    batch, truncated = _tokenize(tokenizer, words, None, max_length, is_split_into_words=True)
    pieces = _pieces_by_word(batch)
    found, start = [], 0
    for i, text in enumerate(words):
        found.append(Word(text, 0, start, start + len(text), tuple(pieces.get((0, i), ()))))
        start += len(text) + 1
    # the tokenizer gives each piece's span inside its own word; shift it into " ".join(words)
    offsets = [(0, 0) if wid is None else (found[wid].start + a, found[wid].start + b)
               for wid, (a, b) in zip(batch.word_ids(0), batch["offset_mapping"], strict=True)]
    return _encoding(tokenizer, batch, found, truncated, offsets)
