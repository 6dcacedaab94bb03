"""Fill-mask speed: the Masked words page's forward (ours: one forward with hidden states, then the
MLM head at the masked positions of every layer, the lens) against transformers' BertForMaskedLM
forward (its decoder over every position of the last layer), on the same inputs, in one run.

The model is base-shaped (12 layers, 768 wide, the 30,522-piece uncased vocabulary, so the decoder
costs what bert-base-uncased's does) with random weights: transformers builds and saves a
BertForPreTraining; our loader and BertForMaskedLM.from_pretrained (transformers' default attention)
read the same folder. Inputs: batch 1 at 16/128/512 pieces, one [MASK] in the middle. Each
repetition runs both in rotating order; medians in milliseconds, "speedup" = theirs / ours.

    python bench/fill_mask.py [--reps N] [--threads N]

prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: bert_core and app are beside bench/

from app import pretraining  # noqa: E402
from bert_core import load_pretrained  # noqa: E402

LENGTHS = (16, 128, 512)
VOCAB = 30522
MASK_ID = 103


def base_checkpoint(folder: Path) -> None:
    import transformers

    config = transformers.BertConfig(vocab_size=VOCAB)  # bert-base's shape
    torch.manual_seed(0)
    transformers.BertForPreTraining(config).eval().save_pretrained(folder)
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += [f"w{i}" for i in range(VOCAB - len(tokens))]
    (folder / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")


def inputs(length: int) -> tuple[dict, int]:
    generator = torch.Generator().manual_seed(length)
    ids = torch.randint(1000, VOCAB, (1, length), generator=generator)
    ids[0, 0], ids[0, -1], position = 101, 102, length // 2
    ids[0, position] = MASK_ID
    return {"input_ids": ids, "token_type_ids": torch.zeros_like(ids), "attention_mask": torch.ones_like(ids)}, position


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import transformers

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base_checkpoint(folder)
        ours, _ = load_pretrained(folder, device="cpu")
        theirs = transformers.BertForMaskedLM.from_pretrained(folder).eval()
    points = {}
    with torch.inference_mode():
        for length in LENGTHS:
            batch, position = inputs(length)

            def run_ours(batch=batch, position=position):
                out = ours(**batch, output_hidden_states=True)
                return pretraining.lens_logits(ours, out.hidden_states, [position])

            def run_theirs(batch=batch):
                return theirs(**batch).logits

            # Same numbers first: the lens at the last layer is transformers' prediction.
            gap = (run_ours()[0, -1] - run_theirs()[0, position]).abs().max().item()
            calls, seconds = (run_ours, run_theirs), ([], [])
            for _ in range(2):
                for call in calls:
                    call()
            for rep in range(args.reps):
                for i in (rep % 2, 1 - rep % 2):
                    seconds[i].append(timed(calls[i]))
            ms = [1000 * statistics.median(s) for s in seconds]
            points[f"b1_t{length}"] = {"ours_ms": round(ms[0], 2), "transformers_ms": round(ms[1], 2),
                                       "speedup": round(ms[1] / ms[0], 3), "max_logit_gap": gap}
    print(json.dumps({"bench": "fill_mask", "model": "base-shaped random BertForPreTraining, vocabulary 30522",
                      "ours": "forward with hidden states + MLM head at the mask on all 12 layers (the lens)",
                      "baseline": f"transformers {transformers.__version__} BertForMaskedLM "
                                  f"({theirs.config._attn_implementation} attention), logits at every position",
                      "threads": torch.get_num_threads(), "cpus": os.cpu_count(), "machine": platform.machine(),
                      "reps": args.reps, "points": points,
                      "never_slower": all(p["speedup"] >= 1 for p in points.values())}))


if __name__ == "__main__":
    main()
