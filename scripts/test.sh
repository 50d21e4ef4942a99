#!/usr/bin/env bash
# Install what is missing, fetch MNIST (so the MNIST tests run), build, run the whole test suite.
# With CI=true the build uses the `ci` preset: CUDA code must compile (nvcc required) and warnings are
# errors. GPU tests skip with their reason when no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --with-torch
data/fetch-mnist.sh

preset=default
if [ "${CI:-}" = "true" ]; then preset=ci; fi
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)"
