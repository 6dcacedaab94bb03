"""Probes per layer on UD English EWT (train on train, score on dev), timed stage by stage: word vectors
of every layer (the model and a random-weight model of its shape, train and dev), the structural probes
(distance and depth, every layer of both models in one training), the linear probes (UPOS and relation
with control tasks, every layer and the feature combinations). Baseline in the same run: scikit-learn's
LogisticRegression (lbfgs) on one layer's UPOS task, against our torch softmax probe on the same data.

    python bench/probes.py [--device cuda] [--max-train-sentences N] [--epochs 3] [--rank 128]

Goals on the 2-core CPU with the default model: structural probes for all layers under 5 minutes,
layer probes under 2 minutes. Prints one JSON line with the scores per layer.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from app import probes  # noqa: E402
from app.conllu import read_conllu  # noqa: E402
from bench.ewt import EWT_DEV  # noqa: E402
from bert_core import load_pretrained, pick_device  # noqa: E402


def compare_sklearn(train: probes.Features, evaluation: probes.Features, layer: int) -> dict:
    """UPOS on one layer: scikit-learn's LogisticRegression against our torch softmax probe."""
    from sklearn.linear_model import LogisticRegression

    x_train, x_eval = train.stacked(layer), evaluation.stacked(layer)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_eval = (x_train - mean) / std, (x_eval - mean) / std
    names = {n: i for i, n in enumerate(sorted(set(probes.labels(train.sentences, "upos"))
                                               | set(probes.labels(evaluation.sentences, "upos"))))}
    y_train = np.array([names[n] for n in probes.labels(train.sentences, "upos")])
    y_eval = np.array([names[n] for n in probes.labels(evaluation.sentences, "upos")])
    start = time.perf_counter()
    ours = probes.train_softmax(x_train, [y_train], [len(names)])[0]
    ours_s = time.perf_counter() - start
    ours_accuracy = probes._accuracy(ours, x_eval, y_eval)
    start = time.perf_counter()
    reference = LogisticRegression(max_iter=200).fit(x_train, y_train)
    sklearn_s = time.perf_counter() - start
    return {"layer": layer, "torch_softmax_s": round(ours_s, 2), "sklearn_lbfgs_s": round(sklearn_s, 2),
            "speedup": round(sklearn_s / ours_s, 2), "torch_accuracy": round(ours_accuracy, 4),
            "sklearn_accuracy": round(float((reference.predict(x_eval) == y_eval).mean()), 4)}


def rounded(values):
    return [round(v, 4) for v in values]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when there is one)")
    parser.add_argument("--train", type=Path, default=EWT_DEV.with_name("en_ewt-ud-train.conllu"))
    parser.add_argument("--eval", type=Path, default=EWT_DEV)
    parser.add_argument("--max-train-sentences", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=probes.EPOCHS)
    parser.add_argument("--rank", type=int, default=128)
    parser.add_argument("--no-sklearn", action="store_true", help="skip the scikit-learn comparison")
    args = parser.parse_args()
    device = pick_device(args.device)
    model, tokenizer = load_pretrained(device=device)
    shuffled = probes.random_model(model)
    train_bank = read_conllu(args.train.read_bytes(), args.max_train_sentences)
    eval_bank = read_conllu(args.eval.read_bytes())
    start = time.perf_counter()
    train, evaluation = (probes.extract_features(model, tokenizer, bank) for bank in (train_bank, eval_bank))
    random_train, random_eval = (probes.extract_features(shuffled, tokenizer, bank) for bank in (train_bank, eval_bank))
    features_s = time.perf_counter() - start
    start = time.perf_counter()
    ours, random = probes.structural_probe([train, random_train], [evaluation, random_eval], rank=args.rank,
                                           epochs=args.epochs)
    structural_s = time.perf_counter() - start
    start = time.perf_counter()
    linear = probes.layer_probe(train, evaluation)
    linear_s = time.perf_counter() - start
    best = int(np.argmax(ours["uuas"]))
    print(json.dumps({
        "bench": "probes", "device": str(device), "threads": torch.get_num_threads(), "model": "all-MiniLM-L6-v2",
        "train_sentences": len(train.sentences), "train_words": train.words,
        "eval_sentences": len(evaluation.sentences), "eval_words": evaluation.words,
        "epochs": args.epochs, "rank": args.rank,
        "features_s": round(features_s, 1), "structural_s": round(structural_s, 1), "linear_s": round(linear_s, 1),
        "structural_goal_s": 300, "structural_meets_goal": features_s + structural_s < 300,
        "linear_goal_s": 120, "linear_meets_goal": linear_s < 120,
        "best_layer": best, "uuas": rounded(ours["uuas"]), "dspr": rounded(ours["dspr"]),
        "root_accuracy": rounded(ours["root_accuracy"]), "nspr": rounded(ours["nspr"]),
        "random_model": {k: rounded(random[k]) for k in ("uuas", "dspr", "root_accuracy", "nspr")},
        "upos": {k: rounded(v) for k, v in linear["layers"]["upos"].items()},
        "relation": {k: rounded(v) for k, v in linear["layers"]["relation"].items()},
        "combinations": {name: {task: round(s[task]["selectivity"], 4) for task in s}
                         for name, s in linear["combinations"].items()},
        "combination_accuracy": {name: {task: round(s[task]["accuracy"], 4) for task in s}
                                 for name, s in linear["combinations"].items()},
        "majority_baseline": linear["majority_baseline"],
        "sklearn": None if args.no_sklearn else compare_sklearn(train, evaluation, best),
    }))


if __name__ == "__main__":
    main()
