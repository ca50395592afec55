#!/usr/bin/env bash
# Set up .venv, then run the main job: a collection over the built-in SciFact sample, evaluated, routed and searched.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/embedroute demo "$@"
