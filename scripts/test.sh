#!/usr/bin/env bash
# Install what is missing, fetch MNIST (so the MNIST tests run), build, run the whole test suite.
# With CI=true the build uses the `ci` preset: CUDA code must compile (nvcc required) and warnings are
# errors. GPU tests skip with their reason when no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each stage's time goes to stderr, so a slow CI run shows where its minutes went.
stage() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  echo "scripts/test.sh: $name took $((SECONDS - start)) s" >&2
}

stage setup scripts/setup.sh --with-torch --with-browser  # the browser: the HTML report test renders in Chromium
stage mnist data/fetch-mnist.sh

preset=default
if [ "${CI:-}" = "true" ]; then preset=ci; fi
cmake --preset "$preset" >/dev/null
stage "$preset build" cmake --build --preset "$preset" -j "$(nproc)"
stage "$preset tests" ctest --preset "$preset" -j "$(nproc)"

# CI also runs the CPU suite under AddressSanitizer + UBSan and every fuzz target for FUZZ_SECONDS (about
# 17 minutes on 2 cores at 959e09b: the ASan build about 5, its tests about 8, fuzzing about 4; the
# three emulated tests that a4231e7 bounds took 292 s of those under ASan, 3 s after). ThreadSanitizer over the threaded code (SIMT
# emulator, OpenMP cpu backend) costs as much again, so CI runs it only with CUDAMLP_CI_TSAN=1 (see
# README: Sanitizers and fuzzing).
if [ "${CI:-}" = "true" ]; then
  sanitizers=(asan)
  if [ "${CUDAMLP_CI_TSAN:-0}" = "1" ]; then sanitizers+=(tsan); fi
  for sanitizer in "${sanitizers[@]}"; do
    cmake --preset "$sanitizer" >/dev/null
    stage "$sanitizer build" cmake --build --preset "$sanitizer" -j "$(nproc)"
    stage "$sanitizer tests" ctest --preset "$sanitizer" -j "$(nproc)"
  done
  stage fuzz fuzz/run.sh "${FUZZ_SECONDS:-30}"
fi
