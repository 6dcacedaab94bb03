"""From word pieces to words: the app's one convention for word-level attention (Clark et al. 2019).

- Attention TO a word split into pieces is the SUM over its pieces (the mass it receives).
- Attention FROM a word is the MEAN over its pieces (each piece's row is a distribution).
- Tokens that belong to no word ([CLS], [SEP], padding) are dropped, without renormalising.
- "The word a word attends to most": its own attention is set to zero first, words with no
  pieces cannot be chosen, and ties go to the leftmost word (torch.argmax returns the first).

Both conversions are matrix products with a pieces→words matrix, so they run on any
(…, T, T) attention stack, batched, on the GPU as well as the CPU:

    word_ids = word_ids_from_pieces([w.pieces for w in enc.words], len(enc))    # (T,)
    maps = word_maps(word_ids, len(enc.words))
    words = word_attention(out.attentions[layer][0], maps)                     # (nh, W, W)
    target = most_attended(words, maps.has_pieces)                             # (nh, W)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class WordMaps:
    """Pieces→words matrices for one sentence (W, T) or a batch (B, W, T)."""
    to_word: torch.Tensor     # (…, W, T) 1 where token t is a piece of word w, else 0: TO = sum
    from_word: torch.Tensor   # (…, W, T) 1/n_pieces(w) where token t is a piece of w, else 0: FROM = mean
    has_pieces: torch.Tensor  # (…, W) bool: False for words the tokenizer dropped and for padding words


def word_ids_from_pieces(pieces: Sequence[Sequence[int]], num_tokens: int,
                         device: torch.device | str | None = None) -> torch.Tensor:
    """(T,) long: the word each token belongs to, -1 for tokens of no word ([CLS], [SEP], padding).

    pieces[w] lists the token positions of word w (bert_core's Word.pieces).
    """
    word_ids = [-1] * num_tokens
    for word, positions in enumerate(pieces):
        for position in positions:
            word_ids[position] = word
    return torch.tensor(word_ids, dtype=torch.long, device=device)


def word_maps(word_ids: torch.Tensor, num_words: int, dtype: torch.dtype = torch.float32) -> WordMaps:
    """Pieces→words matrices from token→word ids of shape (T,) or (B, T) (-1: no word)."""
    words = torch.arange(num_words, device=word_ids.device)
    to_word = (word_ids.unsqueeze(-2) == words.unsqueeze(-1)).to(dtype)  # (…, W, T)
    n_pieces = to_word.sum(-1, keepdim=True)                                # (…, W, 1)
    from_word = to_word / n_pieces.clamp(min=1)                             # rows of piece-less words stay 0
    return WordMaps(to_word, from_word, n_pieces.squeeze(-1) > 0)


def _align(maps_tensor: torch.Tensor, batch_dims: int, target_dims: int) -> torch.Tensor:
    """Insert singleton dims after the batch dims so a map broadcasts against a larger tensor."""
    missing = target_dims - maps_tensor.dim()
    shape = maps_tensor.shape[:batch_dims] + (1,) * missing + maps_tensor.shape[batch_dims:]
    return maps_tensor.reshape(shape)


def word_attention(attention: torch.Tensor, maps: WordMaps) -> torch.Tensor:
    """(…, T, T) token attention (rows attend to columns) → (…, W, W) word attention.

    With batched maps (B, W, T), attention must be (B, …, T, T), e.g. (B, L, nh, T, T).
    """
    batch_dims = maps.to_word.dim() - 2
    from_word = _align(maps.from_word.to(attention.dtype), batch_dims, attention.dim())  # (…, W, T)
    to_word = _align(maps.to_word.to(attention.dtype), batch_dims, attention.dim())      # (…, W, T)
    return from_word @ attention @ to_word.transpose(-1, -2)                            # (…, W, W)


def most_attended(word_attention: torch.Tensor, has_pieces: torch.Tensor) -> torch.Tensor:
    """(…, W, W) word attention → (…, W) long: for each word (row), the word it attends to most.

    Self-attention is zeroed before the argmax; words without pieces cannot be chosen and
    choose nothing (-1); ties go to the leftmost word. has_pieces: (W,) or (B, W) as in WordMaps.
    For the other direction (which word attends most to each word), pass word_attention.mT.
    """
    batch_dims = has_pieces.dim() - 1
    W = word_attention.shape[-1]
    keep = 1 - torch.eye(W, dtype=word_attention.dtype, device=word_attention.device)     # (W, W): self → 0
    candidates = _align(has_pieces, batch_dims, word_attention.dim() - 1).unsqueeze(-2)  # (…, 1, W)
    barrier = torch.zeros(candidates.shape, dtype=word_attention.dtype, device=word_attention.device)
    barrier.masked_fill_(~candidates, float("-inf"))                                     # piece-less: never chosen
    # barrier + attention × keep in one pass, written contiguously (fast argmax even for .mT)
    scores = torch.empty(word_attention.shape, dtype=word_attention.dtype, device=word_attention.device)
    torch.addcmul(barrier, word_attention, keep, out=scores)
    choice = scores.argmax(-1)                                                           # first maximum: leftmost
    sources = _align(has_pieces, batch_dims, choice.dim())                               # (…, W)
    return choice.masked_fill(~sources, -1)
