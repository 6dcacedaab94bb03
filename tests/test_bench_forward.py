"""bench/forward.py runs end to end and reports every point (a smoke run: no timing is asserted)."""
import importlib.util
import json

import pytest

from tests.conftest import ROOT


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_forward", ROOT / "bench" / "forward.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_matmul_flops_counts_projections_and_attention():
    bench = load_bench()
    config = bench.BertConfig(hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16)
    # per layer: Q, K, V, output (4·H²) and FFN up and down (2·H·I), 2 FLOPs per multiply-add, T rows;
    # attention scores and context: 2 · (2·T²·H)
    T = 3
    per_layer = 2 * T * (4 * 8 * 8 + 2 * 8 * 16) + 2 * 2 * T * T * 8
    assert bench.matmul_flops(config, batch=5, tokens=T) == 5 * 2 * per_layer


def test_quick_run_prints_one_json_line_with_every_point(capsys):
    bench = load_bench()
    assert bench.main(["--quick", "--sentences", "20", "--reps", "1", "--lengths", "16", "64"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["threads"] >= 1 and report["matmul_gflops"] > 0
    for model in ("default", "base"):
        assert set(report[model]) == {"b1_t16", "b1_t64", "ewt_sorted_b32"}
        for name in ("b1_t16", "b1_t64"):
            point = report[model][name]
            for key in ("ours_ms", "hf_ms", "projections_ms", "speedup", "fraction_of_matmul", "hf_fraction_of_matmul",
                        "ceiling_speedup", "projections_share_of_ours"):
                assert point[key] > 0, (model, name, key)
        batched = report[model]["ewt_sorted_b32"]
        assert batched["sentences"] == 20 and batched["tokens"] > 20
        for key in ("ours_tok_s", "hf_tok_s", "speedup", "fraction_of_matmul", "ceiling_speedup"):
            assert batched[key] > 0, (model, key)


def test_every_family_but_bert_has_a_benchmark_configuration():
    from bert_core import MODEL_TYPES

    assert set(load_bench().FAMILY_CONFIGS) == set(MODEL_TYPES) - {"bert"}


@pytest.mark.slow
def test_family_run_reports_the_familys_points(capsys):
    bench = load_bench()
    assert bench.main(["--family", "albert", "--quick", "--sentences", "8", "--reps", "1", "--lengths", "16"]) == 0
    report = json.loads(capsys.readouterr().out.strip())
    assert set(report["albert"]) == {"b1_t16", "ewt_sorted_b32"} and report["albert"]["b1_t16"]["speedup"] > 0
