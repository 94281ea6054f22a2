#!/usr/bin/env bash
# Regenerates every PyTorch reference fixture under Cct.Tests/Fixtures.
# Needs Debian's python3-torch (PyTorch 1.13) and libopenblas0-openmp; tests never run Python.
set -euo pipefail
cd "$(dirname "$0")"
for script in ops_*.py model_*.py seed_notebook.py; do
  [ -e "$script" ] || continue
  echo "== $script"
  /usr/bin/python3 "$script"
done
