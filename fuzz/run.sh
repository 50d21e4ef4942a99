#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan + UBSan, in build-fuzz/) and runs each
# for a bounded time on a copy of its seed corpus. Fails on any crash, sanitizer report, leak, timeout
# (a hang) or out-of-memory; the input that did it is left in build-fuzz/findings/<target>/.
#
# Usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#   SECONDS_PER_TARGET  default 60 (CI passes less); targets default to all eight:
#                       fuzz_idx fuzz_csv fuzz_safetensors fuzz_model fuzz_image fuzz_run_log
#                       fuzz_predict_request fuzz_npy
# Reproduce a finding: build-fuzz/fuzz/<target> build-fuzz/findings/<target>/crash-...
# New seeds: edit and run fuzz/make_corpus.py (the corpus is generated, never copied from data sets).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_idx fuzz_csv fuzz_safetensors fuzz_model fuzz_image fuzz_run_log fuzz_predict_request fuzz_npy)
case "$seconds" in
  '' | *[!0-9]*) echo "fuzz/run.sh: seconds must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac
command -v clang++ >/dev/null || { echo "fuzz/run.sh: clang++ not found (scripts/setup.sh installs it)" >&2; exit 1; }

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"

status=0
for target in "${targets[@]}"; do
  corpus_name=${target#fuzz_}
  seeds=fuzz/corpus/$corpus_name
  [ -d "$seeds" ] || { echo "fuzz/run.sh: no seed corpus $seeds for $target" >&2; exit 2; }
  # libFuzzer adds the inputs it finds interesting to the first corpus folder: a scratch copy, so the
  # committed seeds stay small and generated.
  work=build-fuzz/corpus/$corpus_name
  findings=build-fuzz/findings/$target
  rm -rf "$work" "$findings"
  mkdir -p "$work" "$findings"
  dict=()
  case "$target" in
    fuzz_safetensors | fuzz_model) dict=(-dict=fuzz/safetensors.dict) ;;
    fuzz_run_log) dict=(-dict=fuzz/run_log.dict) ;;
  esac
  echo "fuzz/run.sh: $target for ${seconds}s"
  # -timeout: one input taking > 10 s is a hang. -rss_limit_mb / -malloc_limit_mb: a reader trusting a
  # size from the file shows up as an out-of-memory crash. detect_leaks: leaks fail too.
  if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1 \
    "build-fuzz/fuzz/$target" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -max_len=16384 -print_final_stats=1 -artifact_prefix="$findings/" \
    "$work" "$seeds" >"build-fuzz/$target.log" 2>&1; then
    echo "fuzz/run.sh: $target FAILED; log: build-fuzz/$target.log, input: $(ls "$findings")" >&2
    tail -n 40 "build-fuzz/$target.log" >&2
    status=1
    continue
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-fuzz/$target.log")
  echo "fuzz/run.sh: $target ok: ${runs:-?} executions in ${seconds}s, corpus $(ls "$work" | wc -l) inputs"
done
exit $status
