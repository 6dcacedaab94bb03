"""Word senses at scale: 2,000 occurrences from table to scores and UMAP, ours vs a plain loop.

Ours:   app.polysemy.read_table → analyse_table (padded batches of 32 sorted by length, every layer,
        leave-one-out 1-NN sense accuracy and within/between cosines) → UMAP (2-D, fixed seed) of
        each word's vectors at the top layer.
Loop:   what one writes without the app: transformers' BertModel, one sentence at a time with
        output_hidden_states=True, the word's pieces found from the offsets, numpy scoring
        row by row, then the same UMAP calls.
The table is the project's example set (data/senses_example.tsv, 262 sentences) with each
sentence given varied openings ("Yesterday, …", "She said that …") until there are 2,000 rows.
Each repetition runs both (the order alternating) and we report medians, so a load that comes
and goes on a shared machine hits both alike; "speedup" = loop time / our time. UMAP's numba
code is compiled once before timing. The repeated sentences make near-duplicate neighbours,
so accuracy is high here; this is a speed benchmark. The two must agree: the largest difference of their
accuracies over all layers, and of their within/between-sense mean cosines, are reported.

    python bench/polysemy.py [--rows 2000] [--repeats 3] [--device cpu|cuda] [--threads N]

prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: app/ and bert_core/ are beside bench/

from app import polysemy  # noqa: E402
from bert_core import default_checkpoint, load_pretrained  # noqa: E402

OPENINGS = ["", "Yesterday, ", "I think ", "She said that ", "Honestly, ", "According to the news, ",
            "In the story, ", "My friend told me that ", "Last week ", "Believe it or not, "]


def benchmark_table(rows: int) -> bytes:
    """The example set, each sentence with varied openings, cut to `rows` rows, as TSV bytes."""
    lines = (ROOT / "data" / "senses_example.tsv").read_text(encoding="utf-8").splitlines()
    header, body = lines[0], [line.split("\t") for line in lines[1:]]
    out = []
    for opening in OPENINGS * (rows // (len(body) * len(OPENINGS)) + 1):
        for word, sense, sentence in body:
            text = opening + (sentence[0].lower() + sentence[1:] if opening else sentence)
            out.append(f"{word}\t{sense}\t{text}")
    return "\n".join([header, *out[:rows]]).encode("utf-8") + b"\n"


def umap_by_word(vectors: np.ndarray, words: list[str]) -> int:
    """2-D UMAP of each word's top-layer vectors; returns how many points were projected."""
    import umap

    done = 0
    for word in dict.fromkeys(words):
        rows = [i for i, w in enumerate(words) if w == word]
        umap.UMAP(n_components=2, n_neighbors=15, metric="cosine", random_state=0, n_jobs=1).fit_transform(
            vectors[rows])
        done += len(rows)
    return done


def ours(model, tokenizer, data: bytes) -> tuple[dict, list[float]]:
    times = {}
    start = time.perf_counter()
    table = polysemy.read_table(data, "bench.tsv")
    analysis = polysemy.analyse_table(model, tokenizer, table, model_name="bench")
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    times["table_to_scores"] = time.perf_counter() - start
    start = time.perf_counter()
    umap_by_word(analysis.vectors[:, -1], [r.word.lower() for r in analysis.rows])
    times["umap"] = time.perf_counter() - start
    means = [analysis.words[w][kind][layer] for layer in range(len(analysis.layers)) for w in analysis.words
             for kind in ("within", "between")]
    return times, ([entry["accuracy"] for entry in analysis.layers], means)


def loop(hf_model, hf_tokenizer, data: bytes, device) -> tuple[dict, list[float]]:
    """The straightforward version: csv by hand, one sentence at a time, numpy per row."""
    times = {}
    start = time.perf_counter()
    rows = [line.split("\t") for line in data.decode("utf-8").splitlines()[1:] if line]
    vectors, words, senses = [], [], []
    for word, sense, sentence in rows:
        found = polysemy.find_occurrences(sentence, word)
        if not found:
            continue
        a, b = found[0]
        batch = hf_tokenizer(sentence, return_offsets_mapping=True, truncation=True, return_tensors="pt")
        offsets = batch.pop("offset_mapping")[0].tolist()
        pieces = [i for i, (s, e) in enumerate(offsets) if e > s and s < b and e > a]
        with torch.inference_mode():
            states = hf_model(**batch.to(device), output_hidden_states=True).hidden_states
        vectors.append(torch.stack([h[0, pieces].mean(0) for h in states]).float().cpu().numpy())
        words.append(word.lower())
        senses.append(sense)
    vectors = np.stack(vectors)
    accuracies, means = [], []  # means: within, between of each word, layer by layer
    for layer in range(vectors.shape[1]):
        unit = vectors[:, layer] / np.linalg.norm(vectors[:, layer], axis=1, keepdims=True)
        correct = 0
        for word in dict.fromkeys(words):
            idx = np.array([i for i, w in enumerate(words) if w == word])
            for k, i in enumerate(idx):
                sims = unit[idx] @ unit[i]
                sims[k] = -np.inf
                correct += senses[idx[int(np.argmax(sims))]] == senses[i]
            within, between = [], []
            for k, i in enumerate(idx):
                for m in range(k + 1, len(idx)):
                    (within if senses[i] == senses[idx[m]] else between).append(float(unit[i] @ unit[idx[m]]))
            means.append(float(np.mean(within)))
            means.append(float(np.mean(between)))
        accuracies.append(correct / len(words))
    if device.type == "cuda":
        torch.cuda.synchronize()
    times["table_to_scores"] = time.perf_counter() - start
    start = time.perf_counter()
    umap_by_word(vectors[:, -1], words)
    times["umap"] = time.perf_counter() - start
    return times, (accuracies, means)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", module="umap")
    device = torch.device(args.device)
    data = benchmark_table(args.rows)

    from transformers import AutoTokenizer, BertModel

    model, tokenizer = load_pretrained(device=device)
    hf_model = BertModel.from_pretrained(str(default_checkpoint())).to(device).eval()
    hf_tokenizer = AutoTokenizer.from_pretrained(str(default_checkpoint()))
    # Compile UMAP's numba code before timing, on points shaped like one word's (~170 × hidden size)
    warm_up = np.random.default_rng(0).normal(size=(170, model.config.hidden_size)).astype(np.float32)
    umap_by_word(warm_up, ["w"] * len(warm_up))

    samples = {"ours": [], "loop": []}
    for rep in range(args.repeats):
        order = ["ours", "loop"] if rep % 2 == 0 else ["loop", "ours"]
        for name in order:
            if name == "ours":
                times, (ours_accuracy, ours_means) = ours(model, tokenizer, data)
            else:
                times, (loop_accuracy, loop_means) = loop(hf_model, hf_tokenizer, data, device)
            samples[name].append(times)

    def median(name: str, part: str) -> float:
        return statistics.median(t[part] for t in samples[name])

    result = {"bench": "polysemy", "rows": args.rows, "device": device.type, "threads": torch.get_num_threads(),
              "repeats": args.repeats, "machine": platform.processor() or platform.machine()}
    for name in samples:
        result[f"{name}_s"] = {part: round(median(name, part), 3) for part in ("table_to_scores", "umap")}
        result[f"{name}_s"]["total"] = round(sum(result[f"{name}_s"].values()), 3)
    result["speedup_table_to_scores"] = round(median("loop", "table_to_scores") / median("ours", "table_to_scores"), 2)
    result["speedup_total"] = round(result["loop_s"]["total"] / result["ours_s"]["total"], 2)
    result["top_layer_accuracy"] = round(ours_accuracy[-1], 4)
    result["max_accuracy_difference"] = max(abs(a - b) for a, b in zip(ours_accuracy, loop_accuracy, strict=True))
    result["max_mean_cosine_difference"] = float(np.max(np.abs(np.subtract(ours_means, loop_means))))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
