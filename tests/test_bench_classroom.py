"""bench/classroom.py: its bookkeeping, its refusals, and a small run end to end against a real server
(no timing is asserted: only that every figure is measured and no session failed)."""
import importlib.util
import json
import socket
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_classroom", ROOT / "bench" / "classroom.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_every_student_of_every_round_has_a_sentence_of_their_own():
    bench = load_bench()
    seeds = [r + 100 * n + extra for n in (1, 5, 10, 20, 30) for r in range(10) for extra in (0, 50)]
    texts = [bench.sentence(seed, s) for seed in seeds for s in range(30)]
    long_jobs = [bench.sentence(1000 + r, s) for r in range(10) for s in range(3000)]
    assert len(set(texts)) == len(texts)
    assert len(set(long_jobs)) == len(long_jobs)


def test_percentiles_and_goals():
    bench = load_bench()
    values = [float(v) for v in range(1, 21)]
    assert bench.summary(values) == {"p50": 11.0, "p95": 19.0, "max": 20.0}
    assert bench.percentile([], 0.5) is None

    def configuration(sessions, p50, p95, health, rss):
        return {"sessions": sessions, "long_job": False, "head_view_s": {"p50": p50, "p95": p95},
                "health_s": {"max": health}, "rss_mb_per_round": rss}

    flat, growing = [600.0] * 10, [600.0, 600.0] + [700.0] * 8
    report = bench.goals([configuration(1, 0.4, 0.5, 0.1, [600.0]), configuration(20, 3.0, 4.5, 1.5, growing),
                          configuration(5, 1.0, 1.2, 0.2, flat)])
    assert report["n20_p95_over_n1_median"] == {"value": 11.25, "goal": 10, "met": False}
    assert report["health_max_s"]["value"] == 1.5 and not report["health_max_s"]["met"]
    assert not report["rss_round10_vs_round2_n20"]["met"] and report["rss_round10_vs_round2_n5"]["met"]


@pytest.mark.parametrize("argv", [["--sessions", "0"], ["--rounds", "0"], ["--url", "http://example.invalid:8501"],
                                  ["--pages", "tokens", "attention"], ["--long-job-sentences", "1"]])
def test_bad_arguments_exit_2(argv, capsys):
    bench = load_bench()
    with pytest.raises(SystemExit) as stopped:
        bench.main(argv)
    assert stopped.value.code == 2
    assert "error" in capsys.readouterr().err


def test_a_port_in_use_is_refused(capsys):
    bench = load_bench()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SystemExit) as stopped:
            bench.main(["--sessions", "1", "--rounds", "1", "--port", str(taken.getsockname()[1])])
    assert stopped.value.code == 2 and "in use" in capsys.readouterr().err


def test_a_small_run_measures_everything_without_errors():
    # Its own process, as it is run: Playwright's fixtures may hold an event loop in this one.
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "classroom.py"), "--sessions", "1", "2", "--rounds",
                          "2", "--port", str(free_port()), "--long-job", "--long-job-sentences", "100",
                          "--timeout", "240"], capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "classroom: N=2 +long job round 2/2" in run.stderr    # progress as it goes
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["cpus"] >= 1 and len(report["load_average_before"]) == 3
    assert report["cpu_s_per_page_alone"]["visit"] > 0
    assert [(c["sessions"], c["long_job"]) for c in report["configurations"]] == [
        (1, False), (2, False), (1, True), (2, True)]
    for configuration in report["configurations"]:
        assert configuration["errors"] == 0, configuration["error_examples"]
        assert 0 < configuration["head_view_s"]["p50"] <= configuration["head_view_s"]["p95"]
        for page in ("attention", "tokens", "head_overview"):
            assert configuration["pages_s"][page]["p50"] > 0
        assert configuration["health_s"]["samples"] > 0 and configuration["health_s"]["failures"] == 0
        assert len(configuration["rss_mb_per_round"]) == 2 and min(configuration["rss_mb_per_round"]) > 100
        assert configuration["cpu_s_per_session"] > 0
        if configuration["long_job"]:
            assert all(r["long_job"]["errors"] == [] and r["long_job"]["s"] > 0 for r in configuration["rounds"])
    assert "n20_p95_over_n1_median" not in report["goals"]   # not measured: no N = 20 in this run
    assert report["goals"]["health_max_s"]["value"] > 0
