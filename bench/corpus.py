"""Corpus index benchmarks; prints one JSON line.

    python -m bench.corpus --part ewt      # index EWT train+dev (default model, layers 0,3,6, local engine)
                                           # against a plain transformers loop, then query latency (k = 10)
    python -m bench.corpus --part scale --rows 1000000   # synthetic 384-wide float16 rows: exact scan vs
                                                          # the IVF index, recall@10 and latency
    python -m bench.corpus --part gpu      # on a CUDA machine: a base-sized model's sentences per second

The baseline loop is what one writes without this app: transformers, one sentence at a time, each
word's vector the mean of its pieces at the three layers, appended to a list and saved with numpy.
It runs on the first --baseline-sentences sentences and is extrapolated to the whole corpus (stated
in the output). Query words are words of EWT dev sentences (the sentence given as the query text).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.ewt import EWT_DEV

EWT_TRAIN = EWT_DEV.parent / "en_ewt-ud-train.conllu"
LAYERS = [0, 3, 6]


def baseline_loop(sentences, count: int, out: Path) -> float:
    """Seconds for `count` sentences the plain way (transformers, batch of one, numpy save)."""
    import torch
    import transformers

    from bert_core import default_checkpoint

    folder = default_checkpoint()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModel.from_pretrained(folder).eval()
    start = time.perf_counter()
    rows = []
    for sentence in sentences[:count]:
        batch = tokenizer(list(sentence.words), is_split_into_words=True, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            states = model(**batch, output_hidden_states=True).hidden_states
        word_ids = batch.word_ids(0)
        for word in range(len(sentence.words)):
            positions = [i for i, w in enumerate(word_ids) if w == word]
            if positions:
                rows.append(np.stack([states[layer][0, positions].mean(0).numpy() for layer in LAYERS]))
    np.save(out / "baseline.npy", np.stack(rows).astype(np.float16))
    return time.perf_counter() - start


def sgemm_gflops() -> float:
    """This machine's speed now: GFLOP/s of torch's float32 product at the shape of the model's feed-forward
    (its speed moves by ±25 % within an hour here, so each run records it)."""
    import torch

    a, b = torch.randn(960, 384), torch.randn(384, 1536)
    for _ in range(5):
        a @ b
    start = time.perf_counter()
    for _ in range(100):
        a @ b
    return round(2 * 960 * 384 * 1536 * 100 / (time.perf_counter() - start) / 1e9, 1)


def run_ewt(args) -> dict:
    from app import corpus_index
    from app.corpus import read_corpus_files
    from bert_core import DEFAULT_MODEL, encode, load_pretrained

    corpus = read_corpus_files([(p.name, p.read_bytes()) for p in (EWT_TRAIN, EWT_DEV)])
    model, tokenizer = load_pretrained(device="cpu")
    result = {"sentences": len(corpus.sentences), "layers": LAYERS, "sgemm_gflops_before": sgemm_gflops()}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "ewt"
        start = time.perf_counter()
        manifest = corpus_index.build_index(corpus, folder, model=model, tokenizer=tokenizer,
                                            model_name=DEFAULT_MODEL, layers=LAYERS)
        total = time.perf_counter() - start
        ann = manifest.get("ann") or {}
        result.update(sgemm_gflops_after=sgemm_gflops(), words=manifest["words"], index_seconds=round(total, 1),
                      embed_seconds=manifest["seconds"], ann_seconds=ann.get("seconds"),
                      sentences_per_second=round(len(corpus.sentences) / manifest["seconds"], 1),
                      recall_at_10=ann.get("recall_at_10"), ann_type=ann.get("type"),
                      disk_mb=round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1))
        print(json.dumps({"partial": result}), file=sys.stderr, flush=True)  # kept should a later step fail
        index = corpus_index.CorpusIndex(folder)
        dev = [s for s in corpus.sentences if s.source.startswith(EWT_DEV.name)]
        rng = np.random.default_rng(0)
        latencies = {"ann": [], "exact": []}
        for sentence in rng.choice(len(dev), size=args.queries, replace=False):
            text = dev[sentence].text
            words = len(encode(tokenizer, text).words)
            query = corpus_index.query_position(model, tokenizer, text, int(rng.integers(0, words)))
            for kind in latencies:
                start = time.perf_counter()
                index.search(query.vectors[6], 6, k=10, exact=kind == "exact")
                latencies[kind].append(time.perf_counter() - start)
        result["query_ms_median"] = {k: round(1000 * statistics.median(v), 1) for k, v in latencies.items()}
        baseline_dir = Path(scratch) / "baseline"
        baseline_dir.mkdir()
        count = min(args.baseline_sentences, len(corpus.sentences))
        seconds = baseline_loop(corpus.sentences, count, baseline_dir)
        result["baseline"] = {"sentences_timed": count, "seconds": round(seconds, 1),
                              "extrapolated_seconds": round(seconds * len(corpus.sentences) / count, 1)}
        result["speedup_vs_baseline_embedding"] = round(result["baseline"]["extrapolated_seconds"]
                                                        / manifest["seconds"], 2)
    return result


def run_scale(args) -> dict:
    import lancedb
    import pyarrow as pa

    from app import corpus_index

    rng = np.random.default_rng(0)
    width, rows = 384, args.rows
    # clustered, as word vectors are: 5,000 centres ("word types") plus context noise
    centres = rng.standard_normal((5000, width)).astype(np.float32)
    schema = corpus_index.row_schema([6], width)
    with tempfile.TemporaryDirectory(dir=args.scratch) as scratch:
        table = lancedb.connect(scratch).create_table("words", schema=schema)
        start = time.perf_counter()
        step = 200_000
        for first in range(0, rows, step):
            n = min(step, rows - first)
            vectors = (centres[rng.integers(0, 5000, n)] + 0.7 * rng.standard_normal((n, width))).astype(np.float16)
            columns = {"sentence_id": np.arange(first, first + n), "word_index": np.zeros(n, np.int32),
                       "word": ["w"] * n, "lower": ["w"] * n, "start": np.zeros(n, np.int32),
                       "end": np.ones(n, np.int32), "sentence": ["w"] * n, "source": ["synthetic"] * n,
                       "upos": [""] * n, "deprel": [""] * n}
            arrays = [pa.array(columns[f.name], f.type) for f in schema if f.name in columns]
            arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float16()), width))
            table.add(pa.Table.from_arrays(arrays, schema=schema))
        write_s = time.perf_counter() - start
        queries = centres[rng.integers(0, 5000, args.queries)] + 0.7 * rng.standard_normal((args.queries, width))
        exact_ms, exact_keys = [], []
        for query in queries:
            start = time.perf_counter()
            found = corpus_index._search(table, query, "vec_6", 10, None, exact=True)
            exact_ms.append(1000 * (time.perf_counter() - start))
            exact_keys.append(set(found["sentence_id"].to_pylist()))
        start = time.perf_counter()
        ann = corpus_index.build_ann(table, [6], rows)
        ann_s = time.perf_counter() - start
        ann_ms, found_total = [], 0
        for query, keys in zip(queries, exact_keys, strict=True):
            start = time.perf_counter()
            found = corpus_index._search(table, query, "vec_6", 10, None, exact=False)
            ann_ms.append(1000 * (time.perf_counter() - start))
            found_total += len(keys & set(found["sentence_id"].to_pylist()))
        disk = sum(f.stat().st_size for f in Path(scratch).rglob("*") if f.is_file())
    return {"rows": rows, "width": width, "write_seconds": round(write_s, 1), "disk_gb": round(disk / 2**30, 2),
            "exact_ms_median": round(statistics.median(exact_ms), 1), "ann_type": ann["type"],
            "ann_partitions": ann["partitions"], "nprobes": ann["nprobes"], "ann_build_seconds": round(ann_s, 1),
            "ann_ms_median": round(statistics.median(ann_ms), 1),
            "recall_at_10": round(found_total / (10 * len(queries)), 3),
            "speedup_ann_vs_exact": round(statistics.median(exact_ms) / statistics.median(ann_ms), 1)}


def run_gpu(args) -> dict:
    """Sentences per second of the embedding step (no LanceDB write: the GPU machine's image lacks it) for a
    base-sized BERT with random weights (12 layers, 768 wide), on EWT dev, at layers 0, 6, 12, in float32."""
    import torch

    from app.corpus import read_corpus_files
    from app.corpus_index import embed_sentences
    from bert_core import BertModel, default_checkpoint, load_tokenizer
    from bert_core.config import PRESETS

    path = Path(args.ewt_dev)
    corpus = read_corpus_files([(path.name, path.read_bytes())])
    tokenizer = load_tokenizer(args.tokenizer or default_checkpoint())  # bert-base-uncased's vocabulary
    model = BertModel(PRESETS["bert-base"]).to("cuda").eval()
    result = {"device": torch.cuda.get_device_name(0), "model": "bert-base shape, random weights",
              "sentences": len(corpus.sentences)}
    for batch_size in (32, 128):
        embed_sentences(model, tokenizer, corpus.sentences[:256], [0, 6, 12], batch_size)  # warm-up
        torch.cuda.synchronize()
        start = time.perf_counter()
        rows, _ = embed_sentences(model, tokenizer, corpus.sentences, [0, 6, 12], batch_size)
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        result[f"batch_{batch_size}"] = {"seconds": round(seconds, 2), "words": rows.num_rows,
                                         "sentences_per_second": round(len(corpus.sentences) / seconds, 1)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("ewt", "scale", "gpu"), required=True)
    parser.add_argument("--ewt-dev", default=str(EWT_DEV), help="EWT dev (--part gpu)")
    parser.add_argument("--tokenizer", default=None, help="tokenizer folder (--part gpu; default: the default model's)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--baseline-sentences", type=int, default=500)
    parser.add_argument("--scratch", default=None, help="folder for the synthetic table (default: the temp dir)")
    args = parser.parse_args()
    result = {"ewt": run_ewt, "scale": run_scale, "gpu": run_gpu}[args.part](args)
    print(json.dumps({"bench": f"corpus_{args.part}", **result}))


if __name__ == "__main__":
    main()
