"""Forward-pass speed: our BERT vs transformers' BertModel (eager attention), in one run.

Both models return every attention map and hidden state (output_attentions=True,
output_hidden_states=True) on the same inputs, with the same torch threads, under
torch.inference_mode. Each repetition runs ours, theirs, the projections alone (below) and a
plain 1024³ torch.mm in rotating order, and we report medians, so a load that comes and goes on a
shared machine hits all four alike and cancels in the ratios ("speedup" = their time / ours).

Points, for the default model (all-MiniLM-L6-v2, both loaded from the same folder) and a
base-shaped random model (the same random weights in both, saved by transformers and loaded
by our loader):
  b1_t16 … b1_t512   batch 1 at 16/64/128/512 tokens (EWT text, truncated), milliseconds
  ewt_sorted_b32     the 2,001 EWT dev sentences sorted by length, batches of 32, tokens/s
                     (real tokens; padding is work done but not counted as tokens)
Each point also gives the achieved matmul GFLOP/s (the model's matmul FLOPs over padded
shapes: per layer 2·T·H·(4H+2I) for the projections and 4·T²·H for attention) as a fraction
of the plain matmul rate timed among that point's repetitions ("matmul_gflops": the median
over all points), and the time of the projections alone: every layer's six linear layers on
the same shapes, which both models run through the same torch kernels. "ceiling_speedup" =
transformers' time / the projections' is the most any implementation of those matmuls could
gain; "projections_share_of_ours" is how much of our forward they are.

With --family NAME (roberta, xlm-roberta, distilbert, albert, electra), the one pair measured
instead is that family's base-sized random model against the matching transformers class
(RobertaModel, XLMRobertaModel, DistilBertModel, AlbertModel, ElectraModel), reported under its
name; the input ids come from the default model's WordPiece tokenizer (speed does not depend on
which tokenizer made the ids).

    python bench/forward.py [--threads N] [--quick] [--device cuda --dtype bf16] [--family NAME]

prints one JSON line.
"""
from __future__ import annotations

import argparse
import inspect
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
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: bert_core is beside bench/

from bench.ewt import read_sentences  # noqa: E402
from bert_core import BertConfig, default_checkpoint, load_pretrained  # noqa: E402

LENGTHS = (16, 64, 128, 512)
BATCH = 32
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def spread(items: list, limit: int | None) -> list:
    """At most `limit` items taken evenly across the list (all of them for None)."""
    if limit is None or limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def matmul_flops(config: BertConfig, batch: int, tokens: int) -> int:
    """Matmul FLOPs of one encoder forward over a (batch, tokens) padded input."""
    H, F, T = config.hidden_size, config.intermediate_size, tokens
    per_layer = 2 * T * H * (4 * H + 2 * F) + 4 * T * T * H  # Q,K,V,out + FFN; QKᵀ and PV
    return batch * config.num_hidden_layers * per_layer


class Timer:
    """Wall-clock seconds of a call, waiting for the GPU where there is one."""

    def __init__(self, device: torch.device):
        self.sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def __call__(self, fn) -> float:
        self.sync()
        start = time.perf_counter()
        fn()
        self.sync()
        return time.perf_counter() - start


def interleaved(timer: Timer, calls: list, reps: int, warmup: int = 1) -> list[float]:
    """Median seconds of each call, rotating which goes first each repetition."""
    for _ in range(warmup):
        for call in calls:
            call()
    seconds = [[] for _ in calls]
    for rep in range(reps):
        for i in (rep + j for j in range(len(calls))):
            seconds[i % len(calls)].append(timer(calls[i % len(calls)]))
    return [statistics.median(s) for s in seconds]


def matmul_call(device: torch.device, dtype: torch.dtype, n: int = 1024):
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    return lambda: torch.mm(a, b), 2 * n ** 3


def projections_call(model, batch):
    """Every encoder layer's six linear layers (Q, K, V, attention output, FFN up and down) on a
    hidden state of the batch's shape. Both models run exactly these matmuls through the same torch
    kernels, so their time bounds any speedup: "ceiling_speedup" = transformers' time / this."""
    B, T = batch["input_ids"].shape
    x = torch.randn(B, T, model.config.hidden_size, device=batch["input_ids"].device,
                    dtype=next(model.parameters()).dtype)

    def run():
        for layer in model.encoder.layer:
            projections = layer.attention.self
            projections.query(x), projections.key(x), projections.value(x)
            attention_output = layer.attention.output.dense(x)
            layer.output.dense(layer.intermediate.dense(attention_output))
    return run


def bench_model(ours, theirs, tokenizer, sentences: list[str], *, device, reps: int, batch_reps: int,
                lengths=LENGTHS, warmup: int = 2) -> tuple[dict, list[float]]:
    """The points for one pair of models, and the matmul rates (FLOP/s) timed among them.

    The plain matmul is a third contestant in every rotation, so each point's fraction of the
    matmul rate compares rates taken under the same load.
    """
    timer = Timer(device)
    config = ours.config
    accepted = inspect.signature(theirs.forward).parameters
    mm, mm_flops = matmul_call(device, next(ours.parameters()).dtype)

    def contestants(batch):
        def run_ours():
            ours(**batch, output_attentions=True, output_hidden_states=True)

        their_batch = {k: v for k, v in batch.items() if k in accepted}  # DistilBERT takes no token_type_ids

        def run_theirs():
            theirs(**their_batch, output_attentions=True, output_hidden_states=True)
        return [run_ours, run_theirs, projections_call(ours, batch), mm]

    def point(flops, ours_s, theirs_s, projections_s, mm_s):
        mm_rate = mm_flops / mm_s
        return {"speedup": theirs_s / ours_s, "ours_gflops": flops / ours_s / 1e9, "hf_gflops": flops / theirs_s / 1e9,
                "fraction_of_matmul": flops / ours_s / mm_rate, "hf_fraction_of_matmul": flops / theirs_s / mm_rate,
                "ceiling_speedup": theirs_s / projections_s, "projections_share_of_ours": projections_s / ours_s}

    results, mm_rates = {}, []
    text = " ".join(sentences)
    for T in lengths:
        batch = tokenizer([text], truncation=True, max_length=T, return_tensors="pt").to(device)
        assert batch["input_ids"].shape == (1, T), f"not enough EWT text for {T} tokens"
        point_reps = reps if T < 512 else max(3, reps // 4)  # a 512-token forward is long enough to time
        ours_s, theirs_s, projections_s, mm_s = interleaved(timer, contestants(batch), point_reps, warmup)
        mm_rates.append(mm_flops / mm_s)
        results[f"b1_t{T}"] = {"ours_ms": ours_s * 1e3, "hf_ms": theirs_s * 1e3, "projections_ms": projections_s * 1e3,
                               **point(matmul_flops(config, 1, T), ours_s, theirs_s, projections_s, mm_s)}

    pieces = [len(ids) for ids in tokenizer(sentences)["input_ids"]]
    by_length = [s for _, s in sorted(zip(pieces, sentences, strict=True), key=lambda pair: pair[0])]
    batches = [tokenizer(by_length[i:i + BATCH], padding=True, truncation=True, return_tensors="pt").to(device)
               for i in range(0, len(by_length), BATCH)]
    for call in contestants(batches[-1]):  # warm up on the longest batch
        call()
    ours_total = theirs_total = projections_total = mm_total = 0.0
    flops = tokens = 0
    for batch in batches:
        ours_s, theirs_s, projections_s, mm_s = interleaved(timer, contestants(batch), batch_reps, warmup=0)
        ours_total, theirs_total = ours_total + ours_s, theirs_total + theirs_s
        projections_total += projections_s
        mm_total += mm_s
        flops += matmul_flops(config, *batch["input_ids"].shape)
        tokens += int(batch["attention_mask"].sum())
    mm_rates.append(mm_flops * len(batches) / mm_total)
    results["ewt_sorted_b32"] = {
        "sentences": len(sentences), "tokens": tokens,
        "ours_tok_s": tokens / ours_total, "hf_tok_s": tokens / theirs_total,
        **point(flops, ours_total, theirs_total, projections_total, mm_total / len(batches)),
    }
    return results, mm_rates


def hf_model(folder, device, dtype):
    from transformers import BertModel as HFBertModel

    return HFBertModel.from_pretrained(str(folder), attn_implementation="eager").to(device=device, dtype=dtype).eval()


def base_shaped_pair(tokenizer, device, dtype, folder: Path):
    """A base-shaped transformers BertModel with seeded random weights, and ours loaded from its save."""
    from transformers import BertConfig as HFBertConfig
    from transformers import BertModel as HFBertModel

    torch.manual_seed(0)
    theirs = HFBertModel(HFBertConfig(vocab_size=tokenizer.vocab_size, hidden_size=768, num_hidden_layers=12,
                                      num_attention_heads=12, intermediate_size=3072),
                         add_pooling_layer=True)
    theirs.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    ours, _ = load_pretrained(folder, device=device, dtype=dtype)
    return ours, hf_model(folder, device, dtype)


FAMILY_CONFIGS = {  # transformers' base-sized configurations of each family, by config class name and settings
    "roberta": ("RobertaConfig", dict(max_position_embeddings=514, type_vocab_size=1, pad_token_id=1)),
    "xlm-roberta": ("XLMRobertaConfig", dict(max_position_embeddings=514, type_vocab_size=1, pad_token_id=1)),
    "distilbert": ("DistilBertConfig", {}),
    "albert": ("AlbertConfig", dict(embedding_size=128, hidden_size=768, num_attention_heads=12,
                                    intermediate_size=3072)),
    "electra": ("ElectraConfig", dict(embedding_size=768, hidden_size=768, num_attention_heads=12,
                                      intermediate_size=3072)),
}


def family_pair(family: str, tokenizer, device, dtype, folder: Path):
    """A base-sized random model of `family` saved by transformers, ours loaded from it, and theirs."""
    import transformers

    config_name, values = FAMILY_CONFIGS[family]
    config = getattr(transformers, config_name)(vocab_size=tokenizer.vocab_size, **values)
    torch.manual_seed(0)
    transformers.AutoModel.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    ours, _ = load_pretrained(folder, device=device, dtype=dtype)
    theirs = transformers.AutoModel.from_pretrained(str(folder), attn_implementation="eager")
    return ours, theirs.to(device=device, dtype=dtype).eval()


def run(*, threads: int | None = None, device: str = "cpu", dtype: str = "fp32", reps: int = 20,
        batch_reps: int = 1, sentences: int | None = None, lengths=LENGTHS, quick: bool = False,
        family: str | None = None) -> dict:
    """Benchmark both model pairs; returns the dict that main() prints as JSON."""
    warmup = 2
    if quick:
        reps, batch_reps, warmup = min(reps, 3), 1, 1
    if threads:
        torch.set_num_threads(threads)
    target, torch_dtype = torch.device(device), DTYPES[dtype]
    texts = spread(read_sentences(), sentences)
    report = {"machine": machine_name(target), "device": str(target), "dtype": dtype,
              "threads": torch.get_num_threads(), "torch": torch.__version__}
    import transformers

    transformers.utils.logging.disable_progress_bar()  # stderr stays clean; the JSON line is the output
    report["transformers"] = transformers.__version__
    mm_rates = []
    if family is not None:
        tokenizer = load_pretrained(device="cpu")[1]
        with tempfile.TemporaryDirectory() as folder, torch.inference_mode():
            ours, theirs = family_pair(family, tokenizer, target, torch_dtype, Path(folder))
            report[family], mm_rates = bench_model(ours, theirs, tokenizer, texts, device=target, reps=reps,
                                                   batch_reps=batch_reps, lengths=lengths, warmup=warmup)
        report["matmul_gflops"] = statistics.median(mm_rates) / 1e9
        return report
    with torch.inference_mode():
        ours, tokenizer = load_pretrained(device=target, dtype=torch_dtype)
        theirs = hf_model(default_checkpoint(), target, torch_dtype)
        report["default"], rates = bench_model(ours, theirs, tokenizer, texts, device=target, reps=reps,
                                               batch_reps=batch_reps, lengths=lengths, warmup=warmup)
        mm_rates += rates
        del ours, theirs
    with tempfile.TemporaryDirectory() as folder, torch.inference_mode():
        ours, theirs = base_shaped_pair(tokenizer, target, torch_dtype, Path(folder))
        report["base"], rates = bench_model(ours, theirs, tokenizer, texts, device=target, reps=reps,
                                            batch_reps=batch_reps, lengths=lengths, warmup=warmup)
        mm_rates += rates
    report["matmul_gflops"] = statistics.median(mm_rates) / 1e9
    return report


def machine_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    parser.add_argument("--reps", type=int, default=20, help="repetitions per batch-1 point")
    parser.add_argument("--batch-reps", type=int, default=1,
                        help="repetitions per EWT batch (each batch alternates ours/theirs already)")
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS), help="batch-1 token counts")
    parser.add_argument("--sentences", type=int, default=None, help="use this many EWT sentences (default: all)")
    parser.add_argument("--quick", action="store_true", help="few repetitions: a smoke run, not a measurement")
    parser.add_argument("--family", choices=sorted(FAMILY_CONFIGS), default=None,
                        help="measure this family's base-sized model instead of the default and BERT-base pairs")
    args = parser.parse_args(argv)
    report = run(threads=args.threads, device=args.device, dtype=args.dtype, reps=args.reps,
                 batch_reps=args.batch_reps, sentences=args.sentences, lengths=args.lengths, quick=args.quick,
                 family=args.family)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
