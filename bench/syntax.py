"""Syntax probe, end to end, on the 2,001-sentence UD English EWT dev set: ours against a
straightforward per-sentence loop with transformers and numpy, in the same run.

Both sides do the whole job from the file on disk: read the CoNLL-U, tokenize, run the model with
attentions, word-level attention (TO = sum, FROM = mean), both directions' argmax for every
layer × head, hits per relation, and the offset baselines. Model loading is not timed. Runs
alternate (ours, theirs, ours, …) so machine noise hits both; medians. The two sides' hit counts
are compared: `max_accuracy_gap` is the largest difference of any head's accuracy on any relation.

    python bench/syntax.py [--device cuda] [--random-base] [--max-sentences N] [--reps 1]

--random-base uses a BERT-base-shaped model (12 layers, 12 heads, 768 wide) with random weights
and the default model's vocabulary, for the GPU goal; otherwise the bundled all-MiniLM-L6-v2.
Goals: under 30 s on the CPU with the default model, under 3 s on an H100 with a base-sized model.
Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from app.conllu import read_conllu  # noqa: E402
from app.syntax import EXCLUDED_RELATIONS, OFFSETS, probe  # noqa: E402
from bench.ewt import EWT_DEV  # noqa: E402
from bert_core import PRESETS, BertModel, default_checkpoint, load_pretrained, load_tokenizer, pick_device  # noqa: E402


def models(random_base: bool, device: torch.device):
    """(ours, transformers' BertModel with the same weights, tokenizer)."""
    from transformers import BertConfig as HFConfig
    from transformers import BertModel as HFBertModel

    if random_base:
        torch.manual_seed(0)
        ours = BertModel(PRESETS["bert-base"]).eval().to(device)
        tokenizer = load_tokenizer(default_checkpoint())
    else:
        ours, tokenizer = load_pretrained(device=device)
    config = HFConfig(**ours.config.to_dict())
    config._attn_implementation = "eager"  # the attention probabilities are needed
    hf = HFBertModel(config, add_pooling_layer=ours.pooler is not None)
    hf.load_state_dict({k: v for k, v in ours.state_dict().items() if not k.startswith("cls.")}, strict=True)
    return ours, hf.eval().to(device), tokenizer


def run_ours(model, tokenizer, path: Path, max_sentences: int | None, device: torch.device):
    result = probe(model, tokenizer, read_conllu(path.read_bytes(), max_sentences))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return result


def run_transformers(hf, tokenizer, path: Path, max_sentences: int | None, device: torch.device) -> dict:
    """The plain way: one sentence at a time, numpy for everything after the forward."""
    sentences, words, heads, rels = [], [], [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line and not line.startswith("#"):
            columns = line.split("\t")
            if columns[0].isdigit():
                words.append(columns[1])
                heads.append(int(columns[6]))
                rels.append(columns[7])
        elif not line and words:
            sentences.append((words, heads, rels))
            words, heads, rels = [], [], []
            if max_sentences and len(sentences) == max_sentences:
                break
    hits: dict[str, np.ndarray] = {}
    baseline: dict[str, np.ndarray] = {}
    for words, heads, rels in sentences:
        encoded = tokenizer(words, is_split_into_words=True, return_tensors="pt").to(device)
        with torch.inference_mode():
            attentions = hf(**encoded, output_attentions=True).attentions
        tokens = torch.cat(attentions).float().cpu().numpy()                       # (L, nh, T, T)
        word_of = encoded.word_ids()
        n = len(words)
        to_word = np.zeros((n, len(word_of)))
        for t, w in enumerate(word_of):
            if w is not None:
                to_word[w, t] = 1.0
        from_word = to_word / np.maximum(to_word.sum(1, keepdims=True), 1)
        attention = from_word @ tokens @ to_word.T                                   # (L, nh, n, n)
        attention[..., np.arange(n), np.arange(n)] = 0.0
        guesses = (attention.argmax(-1), attention.argmax(-2))                      # dep→head, head→dep
        for d in range(n):
            if heads[d] == 0 or rels[d] in EXCLUDED_RELATIONS:
                continue
            for relation in (rels[d], "all"):
                grid = hits.setdefault(relation, np.zeros((2,) + guesses[0].shape[:2], dtype=np.int64))
                grid[0] += guesses[0][..., d] == heads[d] - 1
                grid[1] += guesses[1][..., d] == heads[d] - 1
                baseline.setdefault(relation, np.zeros(len(OFFSETS), dtype=np.int64))
                baseline[relation] += [d + offset == heads[d] - 1 for offset in OFFSETS]
    if device.type == "cuda":
        torch.cuda.synchronize()
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when there is one)")
    parser.add_argument("--random-base", action="store_true", help="BERT-base shape, random weights")
    parser.add_argument("--max-sentences", type=int, default=None)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--conllu", type=Path, default=EWT_DEV)
    args = parser.parse_args()
    device = pick_device(args.device)
    ours, hf, tokenizer = models(args.random_base, device)
    run_ours(ours, tokenizer, args.conllu, 20, device)  # warm-up (kernels, allocator) for both sides
    run_transformers(hf, tokenizer, args.conllu, 20, device)
    ours_times, hf_times = [], []
    for _ in range(args.reps):
        start = time.perf_counter()
        result = run_ours(ours, tokenizer, args.conllu, args.max_sentences, device)
        ours_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        reference = run_transformers(hf, tokenizer, args.conllu, args.max_sentences, device)
        hf_times.append(time.perf_counter() - start)
    ours_hits = result.hits.sum(1)                                           # (direction, L, nh, R)
    counts = result.counts.sum(0)
    gap = max(float(np.abs(ours_hits[..., r] - reference[relation]).max() / counts[r])
              for r, relation in enumerate(result.relations))
    ours_s, hf_s = statistics.median(ours_times), statistics.median(hf_times)
    goal = 3.0 if device.type == "cuda" else 30.0
    print(json.dumps({
        "bench": "syntax", "device": str(device), "threads": torch.get_num_threads(),
        "model": "bert-base-shaped random" if args.random_base else "all-MiniLM-L6-v2",
        "sentences": result.sentences, "words_scored": int(counts[0]), "reps": args.reps,
        "ours_s": round(ours_s, 3), "transformers_loop_s": round(hf_s, 3), "speedup": round(hf_s / ours_s, 2),
        "goal_s": goal, "meets_goal": ours_s < goal, "max_accuracy_gap": round(gap, 5),
        "machine": platform.processor() or platform.machine(),
        "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
    }))


if __name__ == "__main__":
    main()
