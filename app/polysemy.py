"""Contextual word vectors: the same word in different sentences, and word senses across layers.

Conventions (the pages and the README state them too):
- The target is the first whole-word, case-insensitive occurrence of the word in the sentence
  (the compare page lets the user pick another occurrence).
- A word's vector at a layer is the mean of the hidden states of its word pieces; layer 0 is the
  embedding output (token + segment + position, after LayerNorm), layers 1…L the encoder layers.
- Sense separation is leave-one-out 1-nearest-neighbour accuracy by cosine among the occurrences
  of the same word (grouped case-insensitively); ties go to the earliest row of the table.
- The table is CSV (comma, semicolon or tab separated; app/inputs.py reads every upload) with a
  header naming the columns word, sense (optional), sentence.

Everything here is plain functions on numpy arrays and our BertModel; the pages cache them and
the CLI (`python -m app polysemy`) calls them directly, so both show the same numbers.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass

import numpy as np
import torch

from bert_core import Encoding, encode

from . import inputs
from .vectors import (
    BATCH_SIZE,
    Progress,
    cosine_matrix,
    mean_weights,
    pool_hidden_states,
    similarity_by_layer,
    unit_rows,
)

# Presets of the compare page: a word and sentences that use it in different senses
PRESETS: dict[str, list[str]] = {
    "python": ["I love my pet Python", "I love coding in Python", "The python swallowed a rabbit whole.",
               "She wrote a short Python script to rename the photos."],
    "fair": ["He didn't receive fair treatment", "Fun fair in New York city this summer",
             "The referee was strict but fair.", "We rode the Ferris wheel at the county fair."],
    "bank": ["I need to go to the bank to deposit this cheque.", "We had a picnic on the bank of the river.",
             "The bank raised its interest rates.", "The boat drifted toward the muddy bank."],
    "bat": ["A bat flew out of the cave at dusk.", "He swung the bat and hit the ball over the fence.",
            "The bat uses echolocation to find insects."],
    "spring": ["The cherry trees blossom every spring.", "The mattress has a broken spring.",
               "We drank cold water from a mountain spring.", "In spring the days get longer."],
}
REQUIRED_COLUMNS = ("word", "sentence")
REPORT_EVERY = 200  # rows tokenized between two progress reports


# ---------------------------------------------------------------------------------------------
# Occurrences


def find_occurrences(sentence: str, word: str) -> list[tuple[int, int]]:
    """Character spans of `word` in `sentence` as a whole word (not inside a longer word), any case."""
    word = word.strip()
    if not word:
        return []
    pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
    return [m.span() for m in pattern.finditer(sentence)]


def span_pieces(encoding: Encoding, start: int, end: int) -> tuple[int, ...]:
    """Token positions of the word pieces covering characters start…end (specials excluded);
    empty if truncation cut them off."""
    return tuple(i for i, ((a, b), special) in enumerate(zip(encoding.offsets, encoding.special, strict=True))
                 if not special and a < end and b > start)


@dataclass(frozen=True)
class Target:
    """One occurrence of a word in a sentence, ready for the model."""
    encoding: Encoding
    start: int
    end: int
    pieces: tuple[int, ...]


def locate(tokenizer, sentence: str, word: str, occurrence: int = 0) -> Target | None:
    """The `occurrence`-th (0: first) whole-word occurrence of `word`, with its word pieces;
    None if the word is not there or lies beyond the model's 512-piece limit."""
    spans = find_occurrences(sentence, word)
    if occurrence >= len(spans):
        return None
    start, end = spans[occurrence]
    encoding = encode(tokenizer, sentence)
    pieces = span_pieces(encoding, start, end)
    return Target(encoding, start, end, pieces) if pieces else None


def word_vectors(model, targets: list[Target], *, batch_size: int = BATCH_SIZE,
                 progress: Progress | None = None) -> np.ndarray:
    """(N, L+1, H): each target's vector at every layer, the mean of its word pieces."""
    weights = [mean_weights(len(t.encoding), t.pieces) for t in targets]
    return pool_hidden_states(model, [t.encoding for t in targets], weights, how="mean",
                              batch_size=batch_size, progress=progress)


def static_vectors(model, targets: list[Target]) -> np.ndarray:
    """(N, H): the static baseline, the mean of the input word-embedding rows of each target's
    pieces (no position or segment, no context): what word2vec-style vectors would give."""
    table = model.embeddings.word_embeddings.weight.detach().float().cpu().numpy()
    return np.stack([table[[t.encoding.input_ids[p] for p in t.pieces]].mean(axis=0) for t in targets])


# ---------------------------------------------------------------------------------------------
# Similarities


@dataclass(frozen=True)
class Vocabulary:
    """The model's INPUT word-embedding rows (embeddings.word_embeddings.weight) scaled to unit
    length, for nearest-token look-ups; computed once per model (the page keeps it cached)."""
    unit: np.ndarray       # (V, H) float32
    tokens: list[str]      # (V,)
    ordinary: np.ndarray   # (V,) bool: False for special and [unused…] tokens, which are never offered


def vocabulary(model, tokenizer) -> Vocabulary:
    table = model.embeddings.word_embeddings.weight.detach()
    if model.embeddings.projection is not None:  # factorised (ALBERT, ELECTRA): rows mapped E → H, as layer 1 sees them
        with torch.inference_mode():
            table = model.embeddings.projection(table)
    table = table.float().cpu().numpy()
    unit = unit_rows(table)
    tokens = tokenizer.convert_ids_to_tokens(list(range(len(table))))
    specials = set(tokenizer.all_special_tokens)
    ordinary = np.array([not (tok.startswith("[") and tok.endswith("]")) and tok not in specials for tok in tokens])
    return Vocabulary(unit, tokens, ordinary)


def nearest_tokens(vocabulary: Vocabulary, vector: np.ndarray, k: int = 8) -> list[tuple[str, float]]:
    """The k ordinary vocabulary tokens whose input word-embedding rows are closest by cosine to `vector`."""
    scores = vocabulary.unit @ (vector / max(float(np.linalg.norm(vector)), 1e-12))
    ranked = np.argsort(-np.where(vocabulary.ordinary, scores, -np.inf), kind="stable")[:k]
    return [(vocabulary.tokens[i], float(scores[i])) for i in ranked if vocabulary.ordinary[i]]


@dataclass(frozen=True)
class Comparison:
    """One word compared across sentences: what the "A word in context" page shows at every layer."""
    compared: list[int]             # indices of the sentences compared (the others: the word is beyond 512 pieces)
    pieces: list[tuple[str, ...]]   # the word pieces of each compared occurrence
    vectors: np.ndarray             # (n, L+1, H) the word's vector in each compared sentence
    similarities: np.ndarray        # (L+1, n, n) their cosine similarities at every layer
    static_similarity: np.ndarray   # (n, n) the static baseline's cosine similarities


def compare_word(model, tokenizer, word: str, sentences: list[str], occurrences: list[int]) -> Comparison:
    """The `occurrences[i]`-th occurrence of `word` in each sentences[i] (which must contain it):
    vectors at every layer and their similarities; one batched run of the model."""
    compared, targets = [], []
    for index, (sentence, occurrence) in enumerate(zip(sentences, occurrences, strict=True)):
        target = locate(tokenizer, sentence, word, occurrence)
        if target is not None:
            compared.append(index)
            targets.append(target)
    vectors = word_vectors(model, targets)
    hidden = model.config.hidden_size
    static = static_vectors(model, targets) if targets else np.zeros((0, hidden), np.float32)
    pieces = [tuple(t.encoding.tokens[p] for p in t.pieces) for t in targets]
    return Comparison(compared, pieces, vectors, similarity_by_layer(vectors), cosine_matrix(static))


# ---------------------------------------------------------------------------------------------
# Sense separation


def loo_nearest_neighbours(similarities: np.ndarray) -> np.ndarray:
    """For each row of an (n, n) similarity matrix, the index of its most similar OTHER row;
    ties go to the earliest row (np.argmax returns the first maximum)."""
    others = similarities.copy()
    np.fill_diagonal(others, -np.inf)
    return others.argmax(axis=1)


def sense_scores(vectors: np.ndarray, words: list[str], senses: list[str] | None):
    """Leave-one-out 1-NN sense accuracy and within/between-sense mean cosine, at every layer.

    vectors: (N, L+1, H) in table order; words: each row's word (grouped case-insensitively);
    senses: each row's sense, or None when the table has no sense column. A word is scored only
    if its rows carry at least two senses; the overall accuracy is over all rows of scored words.
    Returns (layers, per_word) in the CLI's JSON shape.
    """
    keys = [w.lower() for w in words]
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    scored = {w: rows for w, rows in groups.items() if senses is not None and len({senses[i] for i in rows}) > 1}
    layers, per_word = [], {w: {"within": [], "between": []} for w in groups}
    for layer in range(vectors.shape[1]):
        correct, total, accuracy = 0, 0, {}
        for word, rows in groups.items():
            if word not in scored:
                accuracy[word] = None
                per_word[word]["within"].append(None)
                per_word[word]["between"].append(None)
                continue
            labels = np.array([senses[i] for i in rows])
            sims = cosine_matrix(vectors[rows, layer])
            hits = int((labels[loo_nearest_neighbours(sims)] == labels).sum())
            correct, total = correct + hits, total + len(rows)
            accuracy[word] = hits / len(rows)
            pairs = np.triu(np.ones(sims.shape, dtype=bool), k=1)      # each pair once
            same = labels[:, None] == labels[None, :]
            within, between = sims[pairs & same], sims[pairs & ~same]
            per_word[word]["within"].append(float(within.mean()) if within.size else None)
            per_word[word]["between"].append(float(between.mean()) if between.size else None)
        layers.append({"layer": layer, "accuracy": correct / total if total else None, "per_word": accuracy})
    return layers, per_word


# ---------------------------------------------------------------------------------------------
# The table


class TableError(ValueError):
    """A table that cannot be read at all (the message says why and what to do)."""


@dataclass(frozen=True)
class Row:
    line: int           # line of the file where the row ends (the header is line 1)
    word: str
    sense: str | None   # None when the table has no sense column
    sentence: str


@dataclass(frozen=True)
class Skipped:
    line: int
    reason: str


@dataclass(frozen=True)
class Table:
    rows: list[Row]
    skipped: list[Skipped]
    has_senses: bool


def read_table(data: bytes, name: str = "") -> Table:
    """Parse a CSV/TSV table (columns word, sentence and optionally sense, named in a header).

    Raises TableError when nothing can be read (empty, binary, no header, missing columns).
    Rows that cannot be used are skipped with their line number and the reason: wrong number of
    fields, not UTF-8, an empty cell, the word not occurring in its sentence as a whole word.
    """
    try:
        text = inputs.upload_text(data)
    except inputs.UploadError as err:
        raise TableError(str(err)) from err
    if inputs.undecodable_at(text.splitlines()[0]) is not None:
        raise TableError("the header is not UTF-8 text; save the file as UTF-8")
    reader, delimiter = inputs.table_reader(text, name)
    header = [h.strip().lower() for h in next(reader)]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise TableError(f"missing column(s) {', '.join(missing)}: the header ({inputs.DELIMITERS[delimiter]}-"
                         f"separated) has {', '.join(repr(h) for h in header) or 'nothing'}; it needs word, "
                         "sentence and optionally sense")
    column = {name: header.index(name) for name in ("word", "sense", "sentence") if name in header}
    has_senses = "sense" in column
    rows, skipped = [], []
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            skipped.append(Skipped(reader.line_num, f"malformed CSV ({err})"))
            continue
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue  # blank lines are not rows
        reason = None
        if len(fields) != len(header):
            reason = f"has {len(fields)} fields, the header has {len(header)}"
        elif any(inputs.undecodable_at(f) is not None for f in fields):
            reason = "not valid UTF-8 text"
        else:
            word, sentence = fields[column["word"]].strip(), fields[column["sentence"]].strip()
            sense = fields[column["sense"]].strip() if has_senses else None
            if not word or not sentence:
                reason = "empty word or sentence"
            elif has_senses and not sense:
                reason = "empty sense"
            elif not find_occurrences(sentence, word):
                reason = f"{word!r} does not occur in the sentence as a whole word"
        if reason:
            skipped.append(Skipped(line, reason))
        else:
            rows.append(Row(line, word, sense, sentence))
    return Table(rows, skipped, has_senses)


# ---------------------------------------------------------------------------------------------
# The whole analysis: table → vectors → scores (what the word-senses page and the CLI run)


@dataclass
class SenseAnalysis:
    model: str
    rows: list[Row]           # the rows analysed, in table order
    skipped: list[Skipped]    # rows left out, from reading the table and from the model's 512-piece limit
    vectors: np.ndarray       # (N, L+1, H) float32
    layers: list[dict]
    words: dict[str, dict]

    def to_json(self) -> dict:
        return {"model": self.model, "items": len(self.rows),
                "skipped": [{"line": s.line, "reason": s.reason} for s in self.skipped],
                "layers": self.layers, "words": self.words}


def analyse_table(model, tokenizer, table: Table, *, model_name: str, batch_size: int = BATCH_SIZE,
                  progress: Progress | None = None, tokenize_progress: Progress | None = None) -> SenseAnalysis:
    """Vectors and scores of a table's rows. tokenize_progress(done, total) follows the tokenizing,
    row by row; progress(done, total) then the model's batches."""
    rows, targets, skipped = [], [], list(table.skipped)
    if tokenize_progress is not None:
        tokenize_progress(0, len(table.rows))
    for done, row in enumerate(table.rows, start=1):
        target = locate(tokenizer, row.sentence, row.word)
        if target is None:
            skipped.append(Skipped(row.line, "the word lies beyond the model's 512-word-piece limit"))
        else:
            rows.append(row)
            targets.append(target)
        if tokenize_progress is not None and (done % REPORT_EVERY == 0 or done == len(table.rows)):
            tokenize_progress(done, len(table.rows))
    skipped.sort(key=lambda s: s.line)
    if not rows:
        return SenseAnalysis(model_name, [], skipped, np.zeros((0, model.config.num_hidden_layers + 1,
                                                                  model.config.hidden_size), np.float32), [], {})
    vectors = word_vectors(model, targets, batch_size=batch_size, progress=progress)
    senses = [r.sense for r in rows] if table.has_senses else None
    layers, words = sense_scores(vectors, [r.word for r in rows], senses)
    return SenseAnalysis(model_name, rows, skipped, vectors, layers, words)


def summary_messages(analysis: SenseAnalysis, table: Table) -> list[str]:
    """Plain-language notes on what could not be scored (shown by the page, logged by the CLI)."""
    notes = []
    if not table.has_senses:
        notes.append("the table has no sense column: vectors and projections only, no sense accuracy")
    elif analysis.layers:
        single = [w for w, acc in analysis.layers[0]["per_word"].items() if acc is None]
        if single:
            notes.append(f"one sense only, so no sense accuracy for: {', '.join(single)}")
    return notes
