#!/usr/bin/env bash
# Set up .venv, then serve the web page and API on http://127.0.0.1:8000/ over ./collections, building a
# collection over the built-in SciFact sample (or the BEIR folder in $EMBEDROUTE_SAMPLE) on first start.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/embedroute serve "${EMBEDROUTE_SERVE_PATH:-collections}" --with-sample ${EMBEDROUTE_SAMPLE:-} \
  --results benchmarks/results "$@"
