"""Where syntax lives, layer by layer: structural probes (Hewitt & Manning 2019) and linear probes with
control tasks (Hewitt & Liang 2019) on the word vectors of every layer.

Conventions (stated the same way on the page and in the README):
- Word vectors: a word's vector at layer l is the MEAN of its pieces' hidden states (layer 0: the
  embedding output; [CLS]/[SEP] not used). Features are extracted once per (model, corpus) and kept
  in memory as float16 (`Features`); the pages keep them in Streamlit's resource cache.
- Sentences: malformed ones, one-word ones and those over 510 word pieces are skipped and counted
  (app/trees.prepare_treebank). Punctuation is kept everywhere (Hewitt & Manning leave it out of
  their scores, so their figures are not directly comparable).
- Distance probe: a rank-k matrix B; the predicted distance of words i, j is ‖B(hᵢ − hⱼ)‖²; loss
  Σᵢⱼ |pred − tree distance| / n² per sentence (L1, as in Hewitt & Manning's code), averaged over
  the batch. Depth probe: predicted depth ‖B hᵢ‖²; loss Σᵢ |pred − depth| / n. Adam, learning rate
  0.001, batches of BATCH sentences, a fixed number of epochs, B initialised uniform in ±0.05 with
  torch seeded by `seed`.
- Scores on the evaluation file: UUAS of the minimum spanning tree over predicted distances (gold
  edges found ÷ Σ (words − 1)); DSpr.: for every word the Spearman correlation between its row of
  predicted and of gold distances (self included), averaged per sentence length, then over the
  lengths 5…50; root accuracy: the word of least predicted depth is the gold root; NSpr.: per
  sentence the Spearman correlation of predicted and gold depths, averaged per length, then over 5…50.
- Baselines in the same run: layer 0 (in every table), and a model of the same shape with random
  weights (torch seeded by `seed`), probed at every layer the same way.
- Linear probes: a softmax layer (no hidden layer) per task on the word vectors (standardised with the
  training words' mean and standard deviation; Adam, learning rate 0.01, LINEAR_EPOCHS epochs of
  shuffled batches of LINEAR_BATCH words), predicting UPOS and
  the relation label (DEPREL as written); control tasks (Hewitt & Liang): every word type (FORM as
  written) gets one fixed random label, drawn from the task's label frequencies in the training file
  (numpy seeded by `seed`, types in order of first appearance, training file first);
  selectivity = accuracy − control accuracy, on the evaluation file. Features: each layer 0…L, and
  the course's combinations: last layer, second-to-last, sum of the last four, concatenation of the
  last four, mean of all layers (0…L).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path
from scipy.stats import rankdata

from bert_core import DEFAULT_MODEL, BertModel

from .batching import length_batches, pad_rows, padded_inputs
from .conllu import Sentence, Treebank
from .syntax import MAX_BATCH
from .trees import found_edges, gold_adjacency, max_spanning_tree, prepare_treebank
from .wordlevel import word_maps

Progress = Callable[[int, int], None]
BATCH = 32                 # sentences per optimiser step
LEARNING_RATE = 1e-3
EPOCHS = 3
SPEARMAN_LENGTHS = (5, 50)
LINEAR_BATCH = 2048        # words per step of the linear probes
LINEAR_EPOCHS = 4
LINEAR_LEARNING_RATE = 1e-2
COMBINATIONS = ("last", "second_to_last", "sum_last_four", "concat_last_four", "mean_all")


# --- word vectors -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Features:
    """Every layer's word vectors of a corpus: extracted once, then probed as often as needed."""
    model: str
    sentences: tuple[Sentence, ...]   # those analysed
    vectors: tuple[np.ndarray, ...]   # per sentence (L + 1, words, D) float16
    skipped: int
    notes: tuple[str, ...]

    @property
    def layers(self) -> int:
        """L + 1: the embedding output and every layer."""
        return self.vectors[0].shape[0] if self.vectors else 0

    @property
    def words(self) -> int:
        return sum(len(s.words) for s in self.sentences)

    def stacked(self, layer: int) -> np.ndarray:
        """(words, D) float32: all words of the corpus at one layer, in order."""
        return np.concatenate([v[layer] for v in self.vectors]).astype(np.float32)


def random_model(model, seed: int = 0) -> BertModel:
    """A model of the same shape with random weights (BERT's initialisation, torch seeded)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        other = BertModel(model.config, pooler=False)
    return other.eval().to(model.device)


@torch.inference_mode()
def extract_features(model, tokenizer, treebank: Treebank, *, model_name: str = DEFAULT_MODEL,
                     progress: Progress | None = None, cost_limit: int | None = None) -> Features:
    """Word vectors of every layer for every analysable sentence; progress(done, total) per batch."""
    sentences, prepared, notes = prepare_treebank(tokenizer, treebank)
    if cost_limit is None:
        cost_limit = 2 ** 17 if model.device.type == "cpu" else 2 ** 22
    vectors: list[np.ndarray | None] = [None] * len(prepared)
    batches = length_batches([len(p.input_ids) for p in prepared], batch_size=MAX_BATCH, cost_limit=cost_limit)
    if progress is not None:
        progress(0, len(prepared))
    done = 0
    for batch in batches:
        ready = [prepared[i] for i in batch]
        W = max(len(p.gold) for p in ready)
        input_ids, attention_mask, token_type_ids = padded_inputs([p.input_ids for p in ready],
                                                                  pad_token_id=model.config.pad_token_id,
                                                                  device=model.device)
        maps = word_maps(pad_rows([p.word_ids for p in ready], -1).to(model.device), W)
        out = model(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                    output_hidden_states=True)
        hidden = torch.stack(out.hidden_states, 1).float()                    # (B, L+1, T, D)
        words = (maps.from_word.unsqueeze(1) @ hidden).half().cpu().numpy()    # (B, L+1, W, D): mean of pieces
        for b, i in enumerate(batch):
            vectors[i] = words[b, :, :len(prepared[i].gold)]
        done += len(batch)
        if progress is not None:
            progress(done, len(prepared))
    return Features(model_name, tuple(sentences), tuple(vectors), len(notes), tuple(notes))


# --- gold trees ---------------------------------------------------------------------------------

def tree_distances(heads: Sequence[int]) -> np.ndarray:
    """(n, n) path lengths in the tree given by 1-based heads (0: root)."""
    n = len(heads)
    edges = [(i, h - 1) for i, h in enumerate(heads) if h > 0]
    graph = csr_matrix((np.ones(len(edges)), ([a for a, _ in edges], [b for _, b in edges])), shape=(n, n))
    return shortest_path(graph, directed=False, unweighted=True)


def tree_depths(heads: Sequence[int]) -> np.ndarray:
    """(n,) each word's distance from the root word."""
    return tree_distances(heads)[list(heads).index(0)]


# --- structural probes --------------------------------------------------------------------------

@dataclass(frozen=True)
class Batch:
    x: torch.Tensor          # (F, B, W, D) float16: every feature set's word vectors
    distance: torch.Tensor   # (B, W, W) gold tree distances (0 on padding)
    depth: torch.Tensor      # (B, W)
    mask: torch.Tensor       # (B, W) bool: real words
    length: torch.Tensor     # (B,) float


def _batches(features: Sequence[Features], indices: Sequence[int], device) -> Batch:
    """One padded batch of sentences `indices`, with the word vectors of every layer of every Features."""
    sentences = [features[0].sentences[i] for i in indices]
    W = max(len(s.words) for s in sentences)
    F = sum(f.layers for f in features)
    D = features[0].vectors[0].shape[-1]
    x = np.zeros((F, len(indices), W, D), dtype=np.float16)
    distance = np.zeros((len(indices), W, W), dtype=np.float32)
    depth = np.zeros((len(indices), W), dtype=np.float32)
    for b, i in enumerate(indices):
        n = len(sentences[b].words)
        x[:, b, :n] = np.concatenate([f.vectors[i] for f in features])
        distance[b, :n, :n] = tree_distances(sentences[b].heads)
        depth[b, :n] = distance[b, list(sentences[b].heads).index(0), :n]
    lengths = torch.tensor([len(s.words) for s in sentences])
    return Batch(torch.from_numpy(x).to(device), torch.from_numpy(distance).to(device),
                 torch.from_numpy(depth).to(device), (torch.arange(W) < lengths[:, None]).to(device),
                 lengths.float().to(device))


def _padded_batches(features: Sequence[Features], device, batch_size: int = BATCH) -> list[Batch]:
    lengths = [len(s.words) for s in features[0].sentences]
    groups = length_batches(lengths, batch_size=batch_size)
    return [_batches(features, group, device) for group in groups]


def _predict(x: torch.Tensor, distance_map: torch.Tensor, depth_map: torch.Tensor):
    """(F, B, W, W) predicted squared distances and (F, B, W) predicted depths."""
    F, B, W, D = x.shape
    k = distance_map.shape[-1]
    # One (B·W, D) @ (D, 2k) product per feature set: far faster than B·F small (W, D) ones.
    both = x.float().reshape(F, B * W, D) @ torch.cat([distance_map, depth_map], dim=-1)
    z, d = both.view(F, B, W, 2 * k).split(k, dim=-1)                  # (F, B, W, k) each
    norms = (z * z).sum(-1)
    distance = (norms.unsqueeze(-1) + norms.unsqueeze(-2) - 2 * z @ z.mT).clamp(min=0)
    return distance, (d * d).sum(-1)


def _losses(batch: Batch, distance, depth) -> tuple[torch.Tensor, torch.Tensor]:
    """(F,) distance and depth losses of a batch, as in Hewitt & Manning (L1, per-sentence normalised)."""
    pairs = (batch.mask.unsqueeze(-1) & batch.mask.unsqueeze(-2)).float()
    distance_loss = ((distance - batch.distance).abs() * pairs).sum((-1, -2)) / batch.length ** 2
    depth_loss = ((depth - batch.depth).abs() * batch.mask).sum(-1) / batch.length
    return distance_loss.mean(-1), depth_loss.mean(-1)


@dataclass(frozen=True)
class ProbeScores:
    uuas: list[float]
    dspr: list[float]
    root_accuracy: list[float]
    nspr: list[float]
    train_loss: dict[str, list[float]]   # per feature set, the mean loss of the last epoch


def _spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman correlation of matching rows of a and b (..., n), ties ranked by their mean."""
    ra, rb = rankdata(a, axis=-1), rankdata(b, axis=-1)
    ra -= ra.mean(-1, keepdims=True)
    rb -= rb.mean(-1, keepdims=True)
    denominator = np.sqrt((ra * ra).sum(-1) * (rb * rb).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(-1) / denominator


def _mean_over_lengths(per_length: dict[int, list[float]]) -> float:
    """Average per sentence length, then over the lengths 5…50 that occur (NaN: none does)."""
    low, high = SPEARMAN_LENGTHS
    means = [np.nanmean(values) for n, values in per_length.items() if low <= n <= high]
    return float(np.mean(means)) if means else float("nan")


@torch.no_grad()
def evaluate_structural(features: Sequence[Features], distance_map: torch.Tensor,
                        depth_map: torch.Tensor) -> tuple[list, list, list, list]:
    """UUAS, DSpr., root accuracy, NSpr. of every feature set on the evaluation sentences."""
    F = distance_map.shape[0]
    device = distance_map.device
    sentences = features[0].sentences
    by_length: dict[int, list[int]] = {}
    for i, s in enumerate(sentences):
        by_length.setdefault(len(s.words), []).append(i)
    found = np.zeros(F)
    roots = np.zeros(F)
    dspr: list[dict[int, list[float]]] = [{} for _ in range(F)]
    nspr: list[dict[int, list[float]]] = [{} for _ in range(F)]
    for n, group in by_length.items():
        batch = _batches(features, group, device)
        distance, depth = _predict(batch.x, distance_map, depth_map)             # (F, B, n, n), (F, B, n)
        B = len(group)
        parents = max_spanning_tree(-distance.reshape(F * B, n, n))             # minimum spanning trees
        found += found_edges(parents.reshape(F, B, n).transpose(0, 1), gold_adjacency(
            [sentences[i] for i in group], n, device)).sum(0).cpu().numpy()
        gold_root = torch.tensor([list(sentences[i].heads).index(0) for i in group], device=device)
        roots += (depth.argmin(-1) == gold_root).sum(-1).cpu().numpy()
        rows = _spearman_rows(distance.cpu().numpy(), batch.distance.cpu().numpy()[None])  # (F, B, n)
        depths = _spearman_rows(depth.cpu().numpy(), batch.depth.cpu().numpy()[None])      # (F, B)
        for f in range(F):
            dspr[f].setdefault(n, []).extend(rows[f].mean(-1).tolist())
            nspr[f].setdefault(n, []).extend(depths[f].tolist())
    edges = sum(len(s.words) - 1 for s in sentences)
    return ((found / edges).tolist(), [_mean_over_lengths(d) for d in dspr], (roots / len(sentences)).tolist(),
            [_mean_over_lengths(d) for d in nspr])


def train_structural(train: Sequence[Features], *, rank: int = 128, seed: int = 0, epochs: int = EPOCHS,
                     learning_rate: float = LEARNING_RATE,
                     progress: Progress | None = None) -> tuple[torch.Tensor, torch.Tensor, list[float], list[float]]:
    """Distance and depth probes for every feature set (every layer of every Features) at once: the
    feature sets have their own matrices, so one optimiser over all of them trains each as if alone.
    Returns (distance maps (F, D, k), depth maps (F, D, k), last-epoch distance and depth loss per set)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    batches = _padded_batches(train, device)
    F = sum(f.layers for f in train)
    D = train[0].vectors[0].shape[-1]
    generator = torch.Generator().manual_seed(seed)
    maps = [((torch.rand(F, D, rank, generator=generator) * 2 - 1) * 0.05).to(device).requires_grad_()
            for _ in range(2)]
    optimiser = torch.optim.Adam(maps, lr=learning_rate)
    order = np.random.default_rng(seed)
    steps, done = epochs * len(batches), 0
    if progress is not None:
        progress(0, steps)
    for _ in range(epochs):
        totals = [torch.zeros(F, device=device), torch.zeros(F, device=device)]
        for b in order.permutation(len(batches)):
            distance, depth = _predict(batches[b].x, *maps)
            losses = _losses(batches[b], distance, depth)
            optimiser.zero_grad()
            (losses[0].sum() + losses[1].sum()).backward()
            optimiser.step()
            for total, loss in zip(totals, losses, strict=True):
                total += loss.detach()
            done += 1
            if progress is not None and (done % 20 == 0 or done == steps):
                progress(done, steps)
    return maps[0].detach(), maps[1].detach(), *((t / len(batches)).tolist() for t in totals)


def structural_probe(train: Sequence[Features], evaluation: Sequence[Features], *, rank: int = 128, seed: int = 0,
                     epochs: int = EPOCHS, learning_rate: float = LEARNING_RATE,
                     progress: Progress | None = None) -> list[dict]:
    """Train on `train`, score on `evaluation` (matching Features: the model's, then the random model's).
    Returns per Features a dict of lists over layers 0…L."""
    distance_map, depth_map, distance_loss, depth_loss = train_structural(
        train, rank=rank, seed=seed, epochs=epochs, learning_rate=learning_rate, progress=progress)
    uuas, dspr, roots, nspr = evaluate_structural(evaluation, distance_map, depth_map)
    results, start = [], 0
    for f in train:
        part = slice(start, start + f.layers)
        results.append({"uuas": uuas[part], "dspr": dspr[part], "root_accuracy": roots[part], "nspr": nspr[part],
                        "train_loss": {"distance": distance_loss[part], "depth": depth_loss[part]}})
        start += f.layers
    return results


# --- linear probes with control tasks ------------------------------------------------------------

TASKS = ("upos", "relation")


def labels(sentences: Sequence[Sentence], task: str) -> list[str]:
    return [tag for s in sentences for tag in (s.upos if task == "upos" else s.deprels)]


def control_labels(train: Sequence[Sentence], evaluation: Sequence[Sentence], task: str,
                   seed: int = 0) -> tuple[list[str], list[str]]:
    """Hewitt & Liang's control task: each word type (FORM as written) gets one random label, drawn
    from the task's label frequencies in the training file; the same type always has the same label."""
    train_labels = labels(train, task)
    names, counts = np.unique(train_labels, return_counts=True)
    rng = np.random.default_rng(seed)
    assigned: dict[str, str] = {}
    for sentence in (*train, *evaluation):
        for form in sentence.words:
            if form not in assigned:
                assigned[form] = str(names[rng.choice(len(names), p=counts / counts.sum())])
    forms = [[w for s in part for w in s.words] for part in (train, evaluation)]
    return [assigned[w] for w in forms[0]], [assigned[w] for w in forms[1]]


def combination(features: Features, name: str) -> np.ndarray:
    """(words, D or 4D) float32: the word vectors of one of COMBINATIONS."""
    L = features.layers - 1
    if name == "last":
        return features.stacked(L)
    if name == "second_to_last":
        return features.stacked(L - 1)
    last_four = [features.stacked(layer) for layer in range(max(L - 3, 0), L + 1)]
    if name == "sum_last_four":
        return np.sum(last_four, axis=0)
    if name == "concat_last_four":
        return np.concatenate(last_four, axis=1)
    if name == "mean_all":
        return np.mean([features.stacked(layer) for layer in range(L + 1)], axis=0)
    raise ValueError(f"unknown combination {name!r}")


def train_softmax(x: np.ndarray, targets: Sequence[np.ndarray], classes: Sequence[int], *, seed: int = 0,
                  epochs: int = LINEAR_EPOCHS) -> list[torch.nn.Linear]:
    """One linear softmax classifier per target array, trained together (separate weights, so each as if
    alone): Adam, learning rate LINEAR_LEARNING_RATE, shuffled batches of LINEAR_BATCH words; x standardised."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        heads = [torch.nn.Linear(x.shape[1], c).to(device) for c in classes]
    data = torch.from_numpy(x).to(device)
    ys = [torch.from_numpy(t).to(device) for t in targets]
    optimiser = torch.optim.Adam([p for h in heads for p in h.parameters()], lr=LINEAR_LEARNING_RATE)
    order = np.random.default_rng(seed)
    for _ in range(epochs):
        permutation = torch.from_numpy(order.permutation(len(data))).to(device)
        for start in range(0, len(data), LINEAR_BATCH):
            rows = permutation[start:start + LINEAR_BATCH]
            batch = data[rows]
            loss = sum(torch.nn.functional.cross_entropy(h(batch), y[rows]) for h, y in zip(heads, ys, strict=True))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return heads


@torch.no_grad()
def _accuracy(head: torch.nn.Linear, x: np.ndarray, y: np.ndarray) -> float:
    device = head.weight.device
    predicted = torch.cat([head(torch.from_numpy(x[i:i + 65536]).to(device)).argmax(-1).cpu()
                           for i in range(0, len(x), 65536)])
    return float((predicted.numpy() == y).mean())


def layer_probe(train: Features, evaluation: Features, *, seed: int = 0, epochs: int = LINEAR_EPOCHS,
                progress: Progress | None = None) -> dict:
    """Linear probes for UPOS and relation, with their control tasks, on every layer and on COMBINATIONS.
    Returns the CLI's JSON (without the model's name and corpus counts)."""
    targets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    classes: dict[str, int] = {}
    for task in TASKS:
        real = labels(train.sentences, task), labels(evaluation.sentences, task)
        control = control_labels(train.sentences, evaluation.sentences, task, seed)
        names = {name: i for i, name in enumerate(sorted(set(real[0]) | set(real[1])))}
        classes[task] = len(names)
        for kind, (fit, held) in (("", real), ("control_", control)):
            targets[kind + task] = (np.array([names[n] for n in fit]), np.array([names[n] for n in held]))
    majority = {task: float(np.mean(targets[task][1] == np.bincount(targets[task][0]).argmax())) for task in TASKS}
    L = train.layers - 1
    sets = [(str(layer), lambda f, layer=layer: f.stacked(layer)) for layer in range(L + 1)]
    sets += [(name, lambda f, name=name: combination(f, name))
             for name in ("sum_last_four", "concat_last_four", "mean_all")]
    scores: dict[str, dict[str, float]] = {}
    if progress is not None:
        progress(0, len(sets))
    for done, (name, features_of) in enumerate(sets, start=1):
        x_train, x_eval = features_of(train), features_of(evaluation)
        mean, std = x_train.mean(0), x_train.std(0) + 1e-6          # standardised on the training words
        x_train, x_eval = (x_train - mean) / std, (x_eval - mean) / std
        order = list(targets)
        heads = train_softmax(x_train, [targets[t][0] for t in order], [classes[t.removeprefix("control_")]
                                                                         for t in order], seed=seed, epochs=epochs)
        scores[name] = {t: _accuracy(h, x_eval, targets[t][1]) for t, h in zip(order, heads, strict=True)}
        if progress is not None:
            progress(done, len(sets))

    def summary(name: str) -> dict:
        return {task: {"accuracy": scores[name][task], "control_accuracy": scores[name]["control_" + task],
                       "selectivity": scores[name][task] - scores[name]["control_" + task]} for task in TASKS}

    per_layer = [summary(str(layer)) for layer in range(L + 1)]
    layers = {task: {key: [row[task][key] for row in per_layer] for key in ("accuracy", "control_accuracy",
                                                                            "selectivity")} for task in TASKS}
    named = {"last": str(L), "second_to_last": str(L - 1)}
    return {"layers": layers, "combinations": {name: summary(named.get(name, name)) for name in COMBINATIONS},
            "majority_baseline": majority, "classes": classes}
