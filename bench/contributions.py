"""What the Contributions measures cost, against the forward they start from (app/contributions.py).

- Norm-based attention at about 512 word pieces, against one forward of the same input (the issue's
  goal: it adds at most one forward's time): "norm_based_page" is what the Attention views page adds
  when it draws norm-weighted heads, every layer's ‖α f(x)‖ from its cached run (AttentionRun.norms,
  the attention maps already computed); "norm_based" is contributions.norm_analysis from scratch
  (its own forward, the maps, ‖α f(x)‖, the layer-level attention + residual and mixing ratios);
- value zeroing, every layer (contributions.value_zeroing: T zeroed copies of each layer, batched),
  at about 128 pieces: seconds (goal: under 2 s on this CPU) and the ratio to one forward;
- head importance by forward-mode differentiation (contributions.output_importance) at about 32 pieces.
Inputs are UD English EWT dev sentences, joined; the default model; medians of --reps, interleaved.

    python bench/contributions.py [--reps 3] [--device cuda]

prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from app import contributions  # noqa: E402
from app.attention import AttentionRun  # noqa: E402
from bench.attention_view import ewt_text  # noqa: E402
from bert_core import encode, load_pretrained  # noqa: E402


def seconds(work) -> float:
    sync = torch.cuda.synchronize if torch.cuda.is_initialized() else (lambda: None)
    sync()
    start = time.perf_counter()
    work()
    sync()
    return time.perf_counter() - start


def median_times(jobs: dict, reps: int) -> dict[str, float]:
    """Each job `reps` times, interleaved; the median seconds of each."""
    times = {name: [] for name in jobs}
    for _ in range(reps):
        for name, job in jobs.items():
            times[name].append(seconds(job))
    return {name: round(statistics.median(values), 4) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    model, tokenizer = load_pretrained(device=args.device)
    load_before = os.getloadavg()

    def forward(enc):
        with torch.inference_mode():
            model(**enc.to_tensors(model.device), output_hidden_states=True)

    results = {}
    enc = encode(tokenizer, ewt_text(tokenizer, 512, "Today"))
    page_times = []
    for _ in range(args.reps):
        run = AttentionRun(model, enc)
        assert run.attentions.shape[0] == run.num_layers  # the maps the page has already computed for the weights
        page_times.append(seconds(lambda run=run: [run.norms(i) for i in range(run.num_layers)]))
    results["norm_based_page"] = {"pieces": len(enc), "seconds": round(statistics.median(page_times), 4)}
    for name, pieces, measure in (("norm_based", 512, contributions.norm_analysis),
                                  ("value_zeroing", 128, contributions.value_zeroing),
                                  ("head_importance", 32, contributions.output_importance)):
        enc = encode(tokenizer, ewt_text(tokenizer, pieces, "Today"))
        measure(model, enc)  # warm-up: first-call allocations and kernels
        times = median_times({"forward": lambda enc=enc: forward(enc),
                              name: lambda enc=enc, measure=measure: measure(model, enc)}, args.reps)
        results[name] = {"pieces": len(enc), "seconds": times[name], "forward_s": times["forward"],
                         "ratio_to_forward": round(times[name] / times["forward"], 2)}
    page = results["norm_based_page"]
    page["forward_s"] = results["norm_based"]["forward_s"]
    page["ratio_to_forward"] = round(page["seconds"] / page["forward_s"], 2)
    results["goals"] = {
        "norm_based_page_adds_at_most_one_forward": page["ratio_to_forward"] <= 1.0,
        "value_zeroing_128_under_2_s": results["value_zeroing"]["seconds"] < 2.0}
    print(json.dumps({"bench": "contributions", "device": args.device, "reps": args.reps,
                      "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(), "machine": platform.machine(),
                      "load_average_before": [round(x, 2) for x in load_before],
                      "load_average_after": [round(x, 2) for x in os.getloadavg()], **results}))


if __name__ == "__main__":
    main()
