"""Fine-tuning a loaded BERT for sequence classification, and what the training changed inside.

Plain functions (no Streamlit), called by the Fine-tuning pages, `python -m app finetune` and the tests:
- read_labelled: a CSV/TSV with `text` and `label` (and an optional `split` of train/dev/test), checked;
- fine_tune: a copy of the model with a new head (dropout + linear on the pooled [CLS] output), trained
  with AdamW, linear warm-up then linear decay, batches of similar length, seeded, early stopping on
  the dev accuracy; one of the lecture's three approaches (all layers, the top N, the head only);
- evaluate / predict: accuracy, confusion matrix, probabilities;
- weight_movement, attention_divergence, sentence_map: before vs after;
- save_checkpoint / zip_folder: a Hugging Face checkpoint folder that transformers loads as
  BertForSequenceClassification.
The model passed in is never changed (the app's cached models are shared by every session).
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import math
import random
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from bert_core import BertModel, task_head_of
from bert_core.task_heads import (
    SEQUENCE,
    TOKEN,
    attach_task_head,
    checkpoint_config,
    checkpoint_state,
    mean_pool,
    new_task_head,
)

from . import inputs
from .batching import pad_rows, padded_inputs
from .inputs import Notice

log = logging.getLogger(__name__)

SPAM_DATA = Path(__file__).resolve().parents[1] / "data" / "spam" / "messages.csv"
UPOS_DATA = Path(__file__).resolve().parents[1] / "data" / "upos" / "ewt_sample.conllu"
SPLITS = ("train", "dev", "test")
MAX_ROWS = 10_000       # rows of an upload that are used; the rest are left out, with a message
MAX_CLASSES = 20        # more distinct labels than this is not a classification set we can show
SPLIT_SHARES = (0.8, 0.1, 0.1)
APPROACHES = {"all": "All layers", "top": "Top N layers (the rest frozen)", "head": "Head only (encoder frozen)"}
# What the classifier reads for a text: the pooler's [CLS] output (transformers' choice) or the token mean.
POOLS = {"cls": "[CLS] (pooler)", "mean": "mean of tokens"}
# Learning rates that suit each approach on small sets: a head alone, learning from scratch on
# frozen features, needs far larger steps than a whole pretrained model (Devlin et al.: 2e-5…5e-5).
DEFAULT_LR = {"all": 5e-5, "top": 1e-4, "head": 5e-3}


class DataError(ValueError):
    """A labelled set that cannot be used for training; the message says why."""


@dataclass(frozen=True)
class LabelledData:
    texts: list[str]
    labels: list[int]           # indices into label_names
    splits: list[str]           # "train", "dev" or "test" per row
    label_names: list[str]
    notices: list[Notice] = field(default_factory=list)
    split_given: bool = True    # False: the seeded 80/10/10 split

    def part(self, split: str) -> tuple[list[str], list[int]]:
        rows = [i for i, s in enumerate(self.splits) if s == split]
        return [self.texts[i] for i in rows], [self.labels[i] for i in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        """{split: {label: rows}}, for the page's table."""
        table = {s: dict.fromkeys(self.label_names, 0) for s in SPLITS}
        for label, split in zip(self.labels, self.splits, strict=True):
            table[split][self.label_names[label]] += 1
        return table


def _column(columns: list[str], name: str) -> str | None:
    by_name = {c.strip().lower(): c for c in columns}
    return by_name.get(name)


def read_labelled(data: bytes, name: str = "data.csv", *, seed: int = 0, max_rows: int = MAX_ROWS) -> LabelledData:
    """The labelled rows of a CSV/TSV (columns `text`, `label`, optional `split`). Rows without text
    or label are skipped and counted; more than max_rows are cut; without a usable split column the
    rows are shuffled with `seed` and split 80/10/10. DataError when nothing trainable is left."""
    text, notices = inputs.decode_upload(name, data)
    if text is None:
        raise DataError(notices[0].text)
    rows, columns, problems = inputs.read_csv(text, name)
    if problems:
        raise DataError(problems[0].text)
    text_col, label_col, split_col = inputs.text_column(columns), _column(columns, "label"), _column(columns, "split")
    if text_col is None or label_col is None:
        raise DataError(f"{inputs.escape_markdown(name)} needs a `text` column and a `label` column "
                        f"(it has: {inputs.escape_markdown(', '.join(columns))}).")
    notices = []
    if len(rows) > max_rows:
        notices.append(Notice("warning", f"{len(rows):,} rows: only the first {max_rows:,} are used."))
        rows = rows[:max_rows]
    kept, no_label, no_text, bad_split = [], 0, 0, 0
    for row in rows:
        body = " ".join((row.get(text_col) or "").split())
        label = (row.get(label_col) or "").strip()
        split = (row.get(split_col) or "").strip().lower() if split_col else ""
        if not body:
            no_text += 1
        elif not label:
            no_label += 1
        elif split_col and split not in SPLITS:
            bad_split += 1
        else:
            kept.append((body, label, split))
    for count, why in ((no_text, "have no text"), (no_label, "have no label"),
                       (bad_split, "have a split other than train, dev or test")):
        if count:
            notices.append(Notice("warning", f"{count:,} row{'s' if count > 1 else ''} {why}: left out."))
    names = sorted({label for _, label, _ in kept})
    if not kept:
        raise DataError("No row has both a text and a label: nothing to train on.")
    if len(names) < 2:
        raise DataError(f"Every row has the label {inputs.inline_code(names[0])}: a classifier needs at least two "
                        "classes to tell apart.")
    if len(names) > MAX_CLASSES:
        raise DataError(f"{len(names):,} different labels (at most {MAX_CLASSES}): is the label column free text?")
    texts = [t for t, _, _ in kept]
    labels = [names.index(label) for _, label, _ in kept]
    if split_col:
        splits = [s for _, _, s in kept]
        missing = [s for s in SPLITS if s not in splits]
        if missing:  # e.g. only train and test given: take the missing part from train, seeded
            notices.append(Notice("info", f"No {' or '.join(missing)} rows: taken from the training rows "
                                          f"({', '.join(f'{SPLIT_SHARES[SPLITS.index(s)]:.0%}' for s in missing)} "
                                          "of all rows, seeded)."))
            splits = _fill_splits(splits, missing, seed)
        return LabelledData(texts, labels, splits, names, notices, split_given=True)
    return LabelledData(texts, labels, seeded_split(len(texts), seed), names, notices, split_given=False)


@dataclass(frozen=True)
class TaggedData:
    """Sentences with a tag per word (UPOS from a CoNLL-U file), for token classification."""
    sentences: list[list[str]]
    tags: list[list[int]]        # indices into label_names
    splits: list[str]
    label_names: list[str]
    notices: list[Notice] = field(default_factory=list)
    split_given: bool = False

    @property
    def texts(self) -> list[str]:
        return [" ".join(words) for words in self.sentences]

    def part(self, split: str) -> tuple[list[list[str]], list[list[int]]]:
        rows = [i for i, s in enumerate(self.splits) if s == split]
        return [self.sentences[i] for i in rows], [self.tags[i] for i in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        table = {s: {"sentences": 0, "words": 0} for s in SPLITS}
        for words, split in zip(self.sentences, self.splits, strict=True):
            table[split]["sentences"] += 1
            table[split]["words"] += len(words)
        return table


def read_tagged(data: bytes, name: str = "data.conllu", *, seed: int = 0, max_sentences: int = MAX_ROWS) -> TaggedData:
    """Words and UPOS tags (column 4) of a CoNLL-U file; multiword-token ranges (1-2) and empty nodes
    (1.1) are not words. A sentence with a malformed line or a missing tag is skipped and counted.
    Split seeded 80/10/10 by sentence. DataError when nothing usable is left."""
    text, notices = inputs.decode_upload(name, data)
    if text is None:
        raise DataError(notices[0].text)
    sentences, tags, skipped, notices = [], [], 0, []
    words, upos, bad = [], [], False
    for line in [*text.splitlines(), ""]:
        line = line.rstrip("\r")
        if not line.strip():
            if words and not bad:
                sentences.append(words)
                tags.append(upos)
            skipped += bool(words) and bad
            words, upos, bad = [], [], False
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 10:
            bad = True
            continue
        if not fields[0].isdigit():  # 1-2 (a multiword token) or 1.1 (an empty node)
            continue
        if fields[3] in ("", "_"):
            bad = True
        words.append(fields[1])
        upos.append(fields[3])
    if skipped:
        notices.append(Notice("warning", f"{skipped:,} sentence{'s' if skipped > 1 else ''} with a malformed line "
                                         "or no UPOS tag: left out."))
    if len(sentences) > max_sentences:
        notices.append(Notice("warning", f"{len(sentences):,} sentences: only the first {max_sentences:,} are used."))
        sentences, tags = sentences[:max_sentences], tags[:max_sentences]
    if not sentences:
        raise DataError(f"{inputs.escape_markdown(name)} has no CoNLL-U sentence with UPOS tags (10 tab-separated "
                        "columns per word, a blank line after each sentence).")
    names = sorted({tag for sentence in tags for tag in sentence})
    if len(names) < 2:
        raise DataError("Every word has the same tag: a tagger needs at least two tags to tell apart.")
    if len(names) > MAX_CLASSES * 3:
        raise DataError(f"{len(names):,} different tags: is column 4 (UPOS) filled with something else?")
    index = {tag: i for i, tag in enumerate(names)}
    return TaggedData(sentences, [[index[t] for t in sentence] for sentence in tags],
                      seeded_split(len(sentences), seed), names, notices)


def seeded_split(n: int, seed: int) -> list[str]:
    """train/dev/test for n rows: a shuffle with `seed`, then 80/10/10 (dev and test at least 1 row each)."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(SPLIT_SHARES[1] * n))
    n_test = max(1, round(SPLIT_SHARES[2] * n))
    splits = ["train"] * n
    for rank, i in enumerate(order):
        if rank < n_dev:
            splits[i] = "dev"
        elif rank < n_dev + n_test:
            splits[i] = "test"
    return splits


def _fill_splits(splits: list[str], missing: list[str], seed: int) -> list[str]:
    train = [i for i, s in enumerate(splits) if s == "train"]
    random.Random(seed).shuffle(train)
    splits = list(splits)
    start = 0
    for name in missing:
        take = max(1, round(SPLIT_SHARES[SPLITS.index(name)] * len(splits)))
        for i in train[start:start + take]:
            splits[i] = name
        start += take
    if not any(s == "train" for s in splits):
        raise DataError("Too few rows to keep any for training.")
    return splits


# --------------------------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class Settings:
    approach: str = "all"                  # "all", "top:N" or "head"
    epochs: int = 3
    learning_rate: float | None = None     # None: DEFAULT_LR of the approach
    batch_size: int = 16
    warmup: float = 0.1                    # share of the steps with a rising learning rate
    weight_decay: float = 0.01
    dropout: float = 0.1                   # before the head's linear layer
    pooling: str = "cls"                   # "cls": the pooled [CLS] output (transformers'); "mean": token mean
    patience: int = 2                      # epochs without a better dev accuracy before stopping
    seed: int = 0
    max_length: int | None = None          # word pieces per text; None: the model's limit (512)

    @property
    def kind(self) -> str:
        return self.approach.split(":")[0]

    @property
    def lr(self) -> float:
        return DEFAULT_LR[self.kind] if self.learning_rate is None else self.learning_rate


def parse_approach(text: str, layers: int) -> str:
    """'all', 'head' or 'top:N' with 1 ≤ N ≤ layers; ValueError otherwise."""
    text = text.strip().lower()
    if text in ("all", "head"):
        return text
    if text.startswith("top:") and text[4:].isdigit() and 1 <= int(text[4:]) <= layers:
        return f"top:{int(text[4:])}"
    raise ValueError(f"approach {text!r}: use all, head, or top:N with N from 1 to {layers}")


def set_trainable(model: BertModel, approach: str) -> tuple[int, int]:
    """Freeze what the approach leaves alone; (trained, total) parameter counts.

    all: everything. top:N: the top N encoder layers, the pooler and the head (embeddings and the
    layers below frozen). head: the head only (and a pooler the head needed and the checkpoint lacked,
    which is new and random, so it must learn). A pooler the head does not read (token tags, mean
    pooling) is never trained: nothing would reach it."""
    kind = approach.split(":")[0]
    layers = model.config.num_hidden_layers
    top = int(approach.split(":")[1]) if kind == "top" else 0
    new_pooler = getattr(model, "new_pooler", False)
    head = task_head_of(model)
    reads_pooler = head is not None and head.task == SEQUENCE and head.pooling == "cls"
    for name, parameter in model.named_parameters():
        if name.startswith("pooler."):
            trained = reads_pooler and (kind in ("all", "top") or new_pooler)
        elif kind == "all" or name.startswith("task_head."):
            trained = True
        elif name.startswith("encoder.layer."):
            trained = kind == "top" and int(name.split(".")[2]) >= layers - top
        else:
            trained = False
        parameter.requires_grad_(trained)
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def with_new_head(base: BertModel, labels: list[str], settings: Settings, task: str = SEQUENCE) -> BertModel:
    """A copy of `base` (never `base` itself) with a new classification head (sequence or token), on
    base's device."""
    model = copy.deepcopy(base)
    had_pooler = model.pooler is not None
    torch.manual_seed(settings.seed)  # a pooler the checkpoint lacks is drawn from this
    attach_task_head(model, new_task_head(model.config, task, labels, seed=settings.seed,
                                          dropout=settings.dropout, pooling=settings.pooling))
    model.new_pooler = had_pooler != (model.pooler is not None)
    return model


# ----------------------------------------------------------------------------------------------- tokens

@dataclass(frozen=True)
class Encoded:
    ids: list[list[int]]
    truncated: int                            # texts cut to max_length pieces
    targets: list[list[int]] | None = None    # token task: the tag per piece, IGNORE where none is learnt


IGNORE = -100  # a piece whose tag is not learnt (all but a word's first piece, [CLS], [SEP])


def encode_texts(tokenizer, texts: list[str], max_length: int) -> Encoded:
    """[CLS] pieces [SEP] per text, cut to max_length pieces (keeping the final [SEP], as transformers)."""
    ids, truncated = [], 0
    for encoding in tokenizer(texts)["input_ids"]:
        if len(encoding) > max_length:
            truncated += 1
            encoding = encoding[:max_length - 1] + encoding[-1:]
        ids.append(encoding)
    return Encoded(ids, truncated)


def encode_tagged(tokenizer, sentences: list[list[str]], tags: list[list[int]], max_length: int) -> Encoded:
    """Words to pieces; each word's tag on its first piece (as transformers' token-classification
    examples), IGNORE elsewhere. Cut to max_length pieces as encode_texts does."""
    batch = tokenizer(sentences, is_split_into_words=True)
    ids, targets, truncated = [], [], 0
    for i, (encoding, sentence_tags) in enumerate(zip(batch["input_ids"], tags, strict=True)):
        target, previous = [], None
        for word in batch.word_ids(i):
            target.append(IGNORE if word is None or word == previous else sentence_tags[word])
            previous = word
        if len(encoding) > max_length:
            truncated += 1
            encoding, target = encoding[:max_length - 1] + encoding[-1:], target[:max_length - 1] + [IGNORE]
        ids.append(encoding)
        targets.append(target)
    return Encoded(ids, truncated, targets)


def length_batches(ids: list[list[int]], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: shuffle, sort within chunks of 50 batches by length, cut into
    batches, shuffle the batches. Padding stays small and every epoch sees a new order."""
    order = list(range(len(ids)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: len(ids[i]))
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def _batch(model: BertModel, ids: list[list[int]], rows: list[int]):
    input_ids, mask, types = padded_inputs([ids[i] for i in rows], pad_token_id=model.config.pad_token_id or 0,
                                           device=model.device)
    return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": types}


def predict(model: BertModel, encoded: Encoded, batch_size: int = 64) -> np.ndarray:
    """Softmax probabilities of the model's head, in eval mode (no dropout): (N, labels) for a sequence
    head; for a token head (W, labels), one row per tagged piece (each word's first), in order."""
    head = task_head_of(model)
    ids = encoded.ids
    was_training = model.training
    model.eval()
    per_text = [None] * len(ids)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = _batch(model, ids, rows)
            probabilities = head(model(**batch), batch["attention_mask"]).float().softmax(-1).cpu().numpy()
            for b, i in enumerate(rows):
                if head.task == SEQUENCE:
                    per_text[i] = probabilities[b][None]
                else:
                    tagged = np.array([t != IGNORE for t in encoded.targets[i]])
                    per_text[i] = probabilities[b, :len(tagged)][tagged]
    model.train(was_training)
    return np.concatenate(per_text) if per_text else np.zeros((0, len(head.labels)), dtype=np.float32)


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    confusion: np.ndarray        # (labels, labels): rows the true label, columns the predicted one
    probabilities: np.ndarray    # (N, labels)
    predictions: np.ndarray      # (N,)


def evaluate(model: BertModel, encoded: Encoded, labels: list[int]) -> Evaluation:
    """labels: one per text (sequence) or per tagged word, in order (token: gold_tags(encoded))."""
    probabilities = predict(model, encoded)
    predictions = probabilities.argmax(1)
    k = probabilities.shape[1]
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (np.asarray(labels, dtype=int), predictions), 1)
    accuracy = float((predictions == np.asarray(labels)).mean()) if labels else float("nan")
    return Evaluation(accuracy, confusion, probabilities, predictions)


def gold_tags(encoded: Encoded) -> list[int]:
    """The tags of the tagged pieces, in order: the word-level gold labels of a token task."""
    return [t for target in encoded.targets for t in target if t != IGNORE]


# --------------------------------------------------------------------------------------------- training

@dataclass(frozen=True)
class Step:
    """One optimiser step, as the progress callback receives it."""
    epoch: int          # 1-based
    step: int           # 1-based, over all epochs
    total_steps: int
    loss: float
    learning_rate: float


Progress = Callable[[Step], None]


@dataclass
class FineTuneResult:
    model: BertModel                 # the fine-tuned copy, with its head; eval mode
    labels: list[str]
    settings: Settings
    trained_parameters: int
    total_parameters: int
    history: list[dict]              # per epoch: epoch, train_loss, dev_accuracy, dev_loss, partial
    steps: list[dict]                # per step: step, epoch, loss
    best_epoch: int                  # the epoch whose weights were kept (0: none completed)
    dev: Evaluation
    test: Evaluation
    test_texts: list[str]            # token task: the test words, one per label
    test_labels: list[int]
    seconds: float
    stopped: bool                    # the stop flag ended the training early
    truncated: int                   # texts cut to max_length pieces
    notices: list[str] = field(default_factory=list)

    @property
    def epochs_run(self) -> int:
        return len(self.history)

    def summary(self) -> dict:
        """The figures of the comparison table (and of the command line's JSON)."""
        return {"approach": self.settings.approach, "trained_parameters": self.trained_parameters,
                "total_parameters": self.total_parameters, "epochs_run": self.epochs_run,
                "seconds": round(self.seconds, 1), "dev_accuracy": self.dev.accuracy,
                "test_accuracy": self.test.accuracy, "stopped": self.stopped}


def _lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up from 0 to 1 over `warmup` steps, then linear decay to 0 at `total` (transformers'
    get_linear_schedule_with_warmup)."""
    if step < warmup:
        return step / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def _optimizer(model: BertModel, settings: Settings) -> torch.optim.AdamW:
    """AdamW; no weight decay on biases and LayerNorm weights (as transformers' Trainer)."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(parameter)
    return torch.optim.AdamW([{"params": decay, "weight_decay": settings.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=settings.lr)


def fine_tune(base: BertModel, tokenizer, data: LabelledData | TaggedData, settings: Settings = Settings(), *,
              progress: Progress | None = None, should_stop: Callable[[], bool] | None = None) -> FineTuneResult:
    """Fine-tune a copy of `base` on data's train split; choose the epoch by dev accuracy; measure on test.

    progress(Step) after every optimiser step. should_stop() is asked before every step: when it says
    True, the epoch ends there, is evaluated like a full one (history marks it partial), and the best
    weights so far (by dev accuracy) are kept, as at a normal end.
    """
    started = time.perf_counter()
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    task = TOKEN if isinstance(data, TaggedData) else SEQUENCE
    model = with_new_head(base, data.label_names, settings, task)
    approach = settings.approach
    trained, total = set_trainable(model, approach)
    max_length = min(settings.max_length or base.config.max_tokens, base.config.max_tokens)
    (train_texts, train_labels), (dev_texts, dev_labels), (test_texts, test_labels) = (data.part(s) for s in SPLITS)
    if not train_texts or not dev_texts:
        raise DataError("Training needs rows in the train and dev splits.")
    if task == SEQUENCE:
        train, dev, test = (encode_texts(tokenizer, t, max_length) for t in (train_texts, dev_texts, test_texts))
        targets = torch.tensor(train_labels, device=model.device)
    else:
        train, dev, test = (encode_tagged(tokenizer, t, tags, max_length) for t, tags in
                            ((train_texts, train_labels), (dev_texts, dev_labels), (test_texts, test_labels)))
        dev_labels, test_labels = gold_tags(dev), gold_tags(test)
        test_texts = [word for sentence in test_texts for word in sentence][:len(test_labels)]
    truncated = train.truncated + dev.truncated + test.truncated
    optimizer = _optimizer(model, settings)
    steps_per_epoch = math.ceil(len(train_texts) / settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    warmup = round(settings.warmup * total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, total_steps, warmup))
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]

    history, steps, stopped = [], [], False
    best_accuracy, best_epoch, best_state, waited = -1.0, 0, None, 0
    step = 0
    for epoch in range(1, settings.epochs + 1):
        model.train()
        losses = []
        for rows in length_batches(train.ids, settings.batch_size, rng):
            if should_stop is not None and should_stop():
                stopped = True
                break
            batch = _batch(model, train.ids, rows)
            logits = model.task_head(model(**batch), batch["attention_mask"]).float()
            if task == SEQUENCE:
                loss = F.cross_entropy(logits, targets[rows])
            else:  # (B, T, labels) against (B, T) tags, padding and unlearnt pieces ignored
                tags = pad_rows([train.targets[i] for i in rows], IGNORE).to(model.device)
                loss = F.cross_entropy(logits.flatten(0, 1), tags.flatten(), ignore_index=IGNORE)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            losses.append(float(loss.detach()))
            steps.append({"step": step, "epoch": epoch, "loss": losses[-1]})
            if progress is not None:
                progress(Step(epoch, step, total_steps, losses[-1], scheduler.get_last_lr()[0]))
        if not losses:  # stopped before this epoch's first step: nothing new to evaluate
            break
        evaluation = evaluate(model, dev, dev_labels)
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "dev_accuracy": evaluation.accuracy,
                        "partial": stopped})
        if evaluation.accuracy > best_accuracy:
            best_accuracy, best_epoch, waited = evaluation.accuracy, epoch, 0
            state = model.state_dict()
            best_state = {name: state[name].detach().clone() for name in trainable}
        else:
            waited += 1
        if stopped or waited >= settings.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    model.eval()
    dev_result = evaluate(model, dev, dev_labels)
    test_result = evaluate(model, test, test_labels)
    notices = []
    if truncated:
        unit = "sentence" if task == TOKEN else "text"
        notices.append(f"{truncated:,} {unit}{'s were' if truncated > 1 else ' was'} longer than {max_length} word "
                       f"pieces and {'were' if truncated > 1 else 'was'} cut to its first {max_length}.")
    if best_epoch and best_epoch < len(history):
        notices.append(f"Kept the weights after epoch {best_epoch}, the best on the dev split.")
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return FineTuneResult(model, data.label_names, settings, trained, total, history, steps, best_epoch, dev_result,
                          test_result, test_texts, test_labels, time.perf_counter() - started, stopped, truncated,
                          notices)


class TrainingJob:
    """fine_tune in a thread, for a page that redraws while it runs: the latest step, a stop flag,
    and the result or the error when it ends. `wait_turn` is the server's job queue (or None)."""

    def __init__(self, base: BertModel, tokenizer, data: LabelledData, settings: Settings, *, wait_turn=None):
        self.settings = settings
        self.stop_requested = threading.Event()
        self.steps: list[Step] = []
        self.result: FineTuneResult | None = None
        self.error: str | None = None
        self.waiting = wait_turn is not None
        self._thread = threading.Thread(target=self._run, args=(base, tokenizer, data, wait_turn), daemon=True)
        self._thread.start()

    def _run(self, base, tokenizer, data, wait_turn) -> None:
        try:
            with wait_turn() if wait_turn is not None else contextlib.nullcontext():
                self.waiting = False
                self.result = fine_tune(base, tokenizer, data, self.settings, progress=self.steps.append,
                                        should_stop=self.stop_requested.is_set)
        except Exception as err:  # shown on the page; the traceback goes to the server's log
            log.exception("fine-tuning failed")
            self.error = f"{type(err).__name__}: {err}"

    def stop(self) -> None:
        self.stop_requested.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)


# ------------------------------------------------------------------------------------ what changed inside

def weight_movement(before: BertModel, after: BertModel) -> list[dict]:
    """Per part (embeddings, layer 1…L, pooler): ‖W_after − W_before‖ / ‖W_before‖ over all its weights."""
    old = dict(before.named_parameters())
    parts: dict[str, list[float]] = {}
    for name, parameter in after.named_parameters():
        if name not in old:  # the head is new: it has no "before"
            continue
        if name.startswith("encoder.layer."):
            part = f"layer {int(name.split('.')[2]) + 1}"
        else:
            part = name.split(".")[0]
        diff = (parameter.detach().float().cpu() - old[name].detach().float().cpu()).pow(2).sum().item()
        norm = old[name].detach().float().cpu().pow(2).sum().item()
        sums = parts.setdefault(part, [0.0, 0.0])
        sums[0] += diff
        sums[1] += norm
    return [{"part": part, "relative_change": math.sqrt(d) / max(math.sqrt(n), 1e-12)}
            for part, (d, n) in parts.items()]


def attention_divergence(before: BertModel, after: BertModel, ids: list[list[int]], batch_size: int = 16) -> np.ndarray:
    """(L, H): per head, the Jensen-Shannon divergence (nats, 0…ln 2) between its attention rows before
    and after, averaged over every real (non-padding) token of the texts."""
    config = before.config
    total = np.zeros((config.num_hidden_layers, config.num_attention_heads))
    tokens = 0
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = _batch(before, ids, rows)
            a = before(**batch, output_attentions=True).attentions
            b = after(**_batch(after, ids, rows), output_attentions=True).attentions
            mask = batch["attention_mask"].bool().cpu()                      # (B, T)
            for layer, (p, q) in enumerate(zip(a, b, strict=True)):
                p, q = p.float().cpu(), q.float().cpu()                      # (B, H, T, T)
                m = 0.5 * (p + q)
                js = 0.5 * (_kl(p, m) + _kl(q, m))                           # (B, H, T)
                total[layer] += (js * mask[:, None, :]).sum((0, 2)).numpy()
            tokens += int(mask.sum())
    return total / max(tokens, 1)


def head_attention(model: BertModel, ids: list[int], layer: int, head: int) -> np.ndarray:
    """(T, T): one head's attention (0-based layer and head) for one encoded text."""
    with torch.inference_mode():
        out = model(torch.tensor([ids], device=model.device), output_attentions=True)
    return out.attentions[layer][0, head].float().cpu().numpy()


def _kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL(p‖q) over the last axis; 0·log 0 = 0 (padded keys have weight 0 in both)."""
    return torch.where(p > 0, p * (p.clamp_min(1e-12).log() - q.clamp_min(1e-12).log()), 0.0).sum(-1)


def sentence_vectors(model: BertModel, ids: list[list[int]], pooling: str = "cls", batch_size: int = 64) -> np.ndarray:
    """(N, H): what a sequence head reads: the pooled [CLS] output, or the mean of the last layer's token
    vectors (pooling "mean", and for a model without a pooler)."""
    out = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = _batch(model, ids, rows)
            result = model(**batch)
            if pooling == "cls" and result.pooler_output is not None:
                pooled = result.pooler_output
            else:
                pooled = mean_pool(result.last_hidden_state, batch["attention_mask"])
            out[rows] = pooled.float().cpu().numpy()
    return out


# ------------------------------------------------------------------------------------------- checkpoint

def save_checkpoint(model: BertModel, tokenizer, folder: str | Path) -> Path:
    """A Hugging Face checkpoint folder: config.json (architectures, id2label, label2id),
    model.safetensors under transformers' names, and the tokenizer files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(checkpoint_config(model), indent=1) + "\n", encoding="utf-8")
    save_file(checkpoint_state(model), str(folder / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save_pretrained(folder)
    return folder


def zip_folder(folder: str | Path) -> bytes:
    """The folder's files in a zip, under the folder's name."""
    folder = Path(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.relative_to(folder)}")
    return buffer.getvalue()
