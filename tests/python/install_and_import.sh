#!/usr/bin/env bash
# ctest Python.InstalledPackageImportsAndTrains: `cmake --install` of the Python package (component python)
# into a temporary prefix; the installed copy, not the build tree's, then imports, trains and predicts.
# Usage: tests/python/install_and_import.sh BUILD_DIR PYTHON INSTALL_DIR (relative to the prefix)
set -euo pipefail
build="$1" python="$2" site="$3"
prefix="$(mktemp -d "${TMPDIR:-/tmp}/cudamlp-python-install.XXXXXX")"
trap 'rm -rf -- "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" --component python >/dev/null
cd "$prefix"  # nothing of the source or build tree on the path
PYTHONPATH="$prefix/$site" "$python" - "$prefix" <<'PY'
import sys
import numpy as np
import cudamlp
assert cudamlp.__file__.startswith(sys.argv[1]), f"imported {cudamlp.__file__}, not the installed package"
rng = np.random.default_rng(0)
X = rng.integers(0, 256, (200, 8), dtype=np.uint8)
y = (X[:, 0] > 127).astype(int)
classifier = cudamlp.MLPClassifier(hidden=(16,), epochs=20, lr=0.5, random_state=0).fit(X, y)
assert classifier.score(X, y) > 0.9, classifier.score(X, y)
print("installed", cudamlp.__file__, "accuracy", classifier.score(X, y))
PY
