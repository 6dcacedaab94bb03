#!/usr/bin/env bash
# Build the image, start it in classroom mode, and check it as an operator would: healthy, not root,
# a student's pages drawn without errors (bench/classroom.py against it), a path in ?model= refused.
# Needs a Docker engine; extra arguments go to `docker build` (e.g. --build-arg TORCH_INDEX=...).
#
#   bash deploy/check_container.sh [docker build arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=bert-explorer:check NAME=bert-explorer-check PORT=${PORT:-8611}
scratch=$(mktemp -d)
trap 'docker rm -f "$NAME" >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT

docker build -t "$IMAGE" "$@" . >&2
printf '[models]\n' >"$scratch/models.toml"  # the bundled model only
docker run -d --name "$NAME" -p "127.0.0.1:$PORT:8501" -e BERT_EXPLORER_MODE=classroom \
  -e BERT_EXPLORER_MODELS=/config/models.toml -v "$scratch/models.toml:/config/models.toml:ro" \
  --health-interval 5s "$IMAGE" >/dev/null
for _ in $(seq 1 60); do
  [ "$(docker inspect -f '{{.State.Health.Status}}' "$NAME")" = healthy ] && break
  sleep 2
done
health=$(docker inspect -f '{{.State.Health.Status}}' "$NAME")
user=$(docker exec "$NAME" id -u)
pid=$(docker inspect -f '{{.State.Pid}}' "$NAME")
python bench/classroom.py --url "http://127.0.0.1:$PORT" --pid "$pid" --sessions 1 10 --rounds 2 >"$scratch/load.json"
refused=$(python - "$PORT" <<'EOF'
import sys
from playwright.sync_api import sync_playwright
from bench.browser import CHROMIUM, CHROMIUM_ARGS

with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    page = browser.new_page()
    page.goto(f"http://127.0.0.1:{sys.argv[1]}/attention?a=The%20teacher%20opened%20it.&model=/etc")
    alert = page.get_by_test_id("stSidebar").get_by_test_id("stAlertContainer").first
    alert.wait_for(timeout=120_000)
    print(alert.inner_text().replace("\n", " "))
    browser.close()
EOF
)
python - "$health" "$user" "$refused" "$scratch/load.json" "$(docker image inspect -f '{{.Size}}' "$IMAGE")" <<'EOF'
import json, sys
health, user, refused, load, size = sys.argv[1:]
result = json.load(open(load))
errors = sum(c["errors"] for c in result["configurations"])
ok = (health == "healthy" and user != "0" and errors == 0
      and refused.startswith("Cannot load /etc: not a model this server offers"))
print(json.dumps({"check": "container", "ok": ok, "health": health, "uid": int(user), "image_mb": int(size) // 2**20,
                  "refused": refused, "student_errors": errors,
                  "head_view_s": {c["sessions"]: c["head_view_s"] for c in result["configurations"]}}))
sys.exit(0 if ok else 1)
EOF
