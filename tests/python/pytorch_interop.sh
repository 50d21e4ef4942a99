#!/usr/bin/env bash
# The PyTorch cross-checks (ctest: PyTorch.LoadsCudamlpModelAndPredictsTheSame,
# PyTorch.TrainingStepsMatchTorchOptim).
# Usage: tests/python/pytorch_interop.sh path/to/build/cudamlp [SCRIPT.py]
# Finds a python3 that can import torch and runs SCRIPT.py (tests/python/pytorch_interop.py by default)
# from this folder with it. Exit 0: pass,
# 1: mismatch or failure, 77: skipped (ctest's SKIP_RETURN_CODE) because no python3 has torch.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 path/to/cudamlp [SCRIPT.py]" >&2
  exit 2
fi
cli="$1"
script="${2:-pytorch_interop.py}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Debian's python3-torch installs into /usr/bin/python3, which a venv python3 on PATH would hide.
for candidate in /usr/bin/python3 "$(command -v python3 || true)"; do
  if [[ -n "$candidate" && -x "$candidate" ]] && "$candidate" -c "import torch" >/dev/null 2>&1; then
    exec "$candidate" "$here/$script" "$cli"
  fi
done
echo "SKIP: no python3 with torch (apt-get install python3-torch)"
exit 77
