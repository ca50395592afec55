#!/usr/bin/env bash
# Set up (or reuse) .venv, then run the whole test suite (slow tests included).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy  # src/embedroute, as [tool.mypy] in pyproject.toml says
exec .venv/bin/python -m pytest "$@"
