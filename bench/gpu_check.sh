#!/usr/bin/env bash
# One prepared GPU run: every GPU figure in one command, within 8 minutes on one GPU.
#
#   here:  bash bench/gpu_prepare.sh            (once: fills the git-ignored .gpu/)
#   there: bash bench/gpu_check.sh              (the device tool: carry [".gpu"])
#
# Prints one JSON line per step: the machine; the parity tests on CUDA (tests/test_gpu.py: float32 at
# the CPU tolerances, bfloat16 within its stated tolerance); then each benchmark with --device cuda.
# A step that fails prints {"step", "rc", "error"} and the run goes on. The browser benchmarks
# (app_latency, attention_view, cold_start, classroom) measure the Streamlit server and Chromium, which
# the GPU image does not have: they are listed as not run.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
if [ -d .gpu/site ]; then export PYTHONPATH="$PWD/.gpu/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"; fi
if [ -d .gpu/ud-english-ewt ] && [ ! -e ../shared/data/ud-english-ewt ]; then
  mkdir -p ../shared/data && ln -s "$PWD/.gpu/ud-english-ewt" ../shared/data/ud-english-ewt
fi
if [ -d .gpu/wheels ]; then "$PY" -m pip install -q --no-deps --no-index .gpu/wheels/*.whl >&2; fi
logs=${OUT:-/tmp}/gpu_check_logs
mkdir -p "$logs"

# step NAME SECONDS COMMAND...: run it; its last stdout line is its JSON (else an error line).
# STEPS="parity_cuda polysemy" bash bench/gpu_check.sh reruns just those steps.
step() {
  local name=$1 budget=$2; shift 2
  if [ -n "${STEPS:-}" ] && [[ " $STEPS " != *" $name "* ]]; then return; fi
  timeout "$budget" "$@" >"$logs/$name.out" 2>"$logs/$name.err"
  local rc=$?
  local last; last=$(grep '^{' "$logs/$name.out" | tail -n 1)
  if [ "$rc" -eq 0 ] && [ -n "$last" ]; then
    echo "{\"step\": \"$name\", \"result\": $last}"
  else
    local why; why=$(tail -n 1 "$logs/$name.err" | tr -d '"\\' | cut -c1-300)
    echo "{\"step\": \"$name\", \"rc\": $rc, \"error\": \"$why\"}"
  fi
}

step machine 60 "$PY" -c 'import json, platform, torch
ok = torch.cuda.is_available()
print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
                  "gpu": torch.cuda.get_device_name(0) if ok else None,
                  "capability": list(torch.cuda.get_device_capability(0)) if ok else None}))'
step parity_cuda 150 "$PY" -c 'import json, sys, pytest
class Count:
    def __init__(self): self.outcomes = {}
    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            self.outcomes[report.nodeid] = report.outcome
count = Count()
code = pytest.main(["-q", "-s", "-m", "gpu", "-p", "no:cacheprovider", "tests/test_gpu.py"], plugins=[count])
outcomes = list(count.outcomes.values())
print(json.dumps({"exit": int(code), "passed": outcomes.count("passed"), "failed": outcomes.count("failed"),
                  "skipped": outcomes.count("skipped"),
                  "failures": [k for k, v in count.outcomes.items() if v == "failed"]}))'
step forward_fp32 100 "$PY" bench/forward.py --device cuda --dtype fp32
step forward_bf16 100 "$PY" bench/forward.py --device cuda --dtype bf16
step polysemy 240 "$PY" bench/polysemy.py --device cuda
step syntax 60 "$PY" bench/syntax.py --device cuda
step syntax_base_random 60 "$PY" bench/syntax.py --device cuda --random-base
step contributions 120 "$PY" bench/contributions.py --device cuda
echo '{"step": "browser_benchmarks", "not_run": ["app_latency", "attention_view", "cold_start", "classroom"], "why": "they time the Streamlit server and Chromium on the CPU machine; the GPU image has neither"}'
