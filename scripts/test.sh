#!/usr/bin/env bash
# Install what is missing, fetch MNIST (so the MNIST tests run), build, run the whole test suite.
# With CI=true the build uses the `ci` preset: CUDA code must compile (nvcc required) and warnings are
# errors. GPU tests skip with their reason when no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --with-torch --with-browser  # the browser: the HTML report test renders in Chromium
data/fetch-mnist.sh

preset=default
if [ "${CI:-}" = "true" ]; then preset=ci; fi
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)"

# CI also runs the CPU suite under AddressSanitizer + UBSan, the threaded code (SIMT emulator, OpenMP
# cpu backend) under ThreadSanitizer, and every fuzz target for FUZZ_SECONDS (see README: Sanitizers).
if [ "${CI:-}" = "true" ]; then
  for sanitizer in asan tsan; do
    cmake --preset "$sanitizer" >/dev/null
    cmake --build --preset "$sanitizer" -j "$(nproc)"
    ctest --preset "$sanitizer" -j "$(nproc)"
  done
  fuzz/run.sh "${FUZZ_SECONDS:-30}"
fi
