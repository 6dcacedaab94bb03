"""Trees from attention on the 2,001-sentence UD English EWT dev set: ours (app.trees.decode_treebank:
padded length-sorted batches, word-level attention by matrix products, one batched Prim's MST over every
head of a batch) against a straightforward per-sentence loop (numpy + scipy's minimum_spanning_tree),
in the same run, both from the file on disk with the same model. Model loading is not timed.

    python bench/trees.py [--device cuda] [--max-sentences N] [--conllu FILE]

`max_uuas_gap`: the largest difference of any head's UUAS between the two. Goal: under 30 s on the
2-core CPU with the default model. Prints one JSON line (per-head UUAS, best head, baselines included).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.sparse.csgraph import minimum_spanning_tree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from app.conllu import read_conllu  # noqa: E402
from app.syntax import MAX_PIECES  # noqa: E402
from app.trees import decode_treebank  # noqa: E402
from bench.ewt import EWT_DEV  # noqa: E402
from bert_core import encode_words, load_pretrained, pick_device  # noqa: E402


def straightforward(model, tokenizer, path: Path, max_sentences: int | None) -> tuple[np.ndarray, int]:
    """(L, nh + 1) gold edges found and the gold edge count: one sentence at a time."""
    L, nh = model.config.num_hidden_layers, model.config.num_attention_heads
    found, edges = np.zeros((L, nh + 1), dtype=np.int64), 0
    for sentence in read_conllu(path.read_bytes(), max_sentences).sentences:
        n = len(sentence.words)
        enc = encode_words(tokenizer, list(sentence.words), max_length=MAX_PIECES + 2)
        if n < 2 or enc.truncated:
            continue
        with torch.inference_mode():
            attentions = model(torch.tensor([enc.input_ids], device=model.device), output_attentions=True).attentions
        tokens = torch.cat(attentions).float().cpu().numpy()                    # (L, nh, T, T)
        to_word = np.zeros((n, len(enc.input_ids)))
        for w, word in enumerate(enc.words):
            to_word[w, list(word.pieces)] = 1.0
        from_word = to_word / np.maximum(to_word.sum(1, keepdims=True), 1)
        words = from_word @ tokens @ to_word.T                                   # (L, nh, n, n)
        words = np.concatenate([words, words.mean(1, keepdims=True)], 1)
        gold = {(min(i, h - 1), max(i, h - 1)) for i, h in enumerate(sentence.heads) if h > 0}
        edges += n - 1
        for layer in range(L):
            for head in range(nh + 1):
                tree = minimum_spanning_tree(-(words[layer, head] + words[layer, head].T) / 2).tocoo()
                found[layer, head] += sum((min(a, b), max(a, b)) in gold for a, b in zip(tree.row, tree.col,
                                                                                         strict=True))
    return found, edges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when there is one)")
    parser.add_argument("--max-sentences", type=int, default=None)
    parser.add_argument("--conllu", type=Path, default=EWT_DEV)
    args = parser.parse_args()
    device = pick_device(args.device)
    model, tokenizer = load_pretrained(device=device)
    decode_treebank(model, tokenizer, read_conllu(args.conllu.read_bytes(), 20))   # warm-up
    start = time.perf_counter()
    result = decode_treebank(model, tokenizer, read_conllu(args.conllu.read_bytes(), args.max_sentences))
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    found, edges = straightforward(model, tokenizer, args.conllu, args.max_sentences)
    loop_s = time.perf_counter() - start
    payload = result.to_json()
    goal = 30.0
    print(json.dumps({
        "bench": "trees", "device": str(device), "threads": torch.get_num_threads(), "model": "all-MiniLM-L6-v2",
        "sentences": result.sentences, "skipped": result.skipped, "edges": result.edges,
        "ours_s": round(ours_s, 3), "numpy_scipy_loop_s": round(loop_s, 3), "speedup": round(loop_s / ours_s, 2),
        "goal_s": goal, "meets_goal": ours_s < goal, "same_edges": edges == result.edges,
        "max_uuas_gap": float(np.abs(found / edges - result.uuas).max()),
        "best_head": payload["best_head"], "best_uuas": round(float(result.uuas[:, :-1].max()), 4),
        "layer_mean": [round(x, 4) for x in payload["layer_mean"]], "baselines": payload["baselines"],
        "heads": [[round(x, 4) for x in row] for row in payload["heads"]],
    }))


if __name__ == "__main__":
    main()
