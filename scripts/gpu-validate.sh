#!/usr/bin/env bash
# Runs docs/gpu-validation.md's checklist on the device machine, from the bundle scripts/device-bundle.sh
# built (carry ["build-device"]). One stage per call, each well inside the device tool's 10 minutes a
# command; each writes its log to $OUT/STAGE.log (or build-device/logs/ outside the device tool) and
# prints it. Stages, in the order to run them:
#   check      the GPU, the driver, and that every library of the bundle resolves
#   tests      the Gpu/... tests (kernels, GEMM lab, whole backend), first with CUDA_LAUNCH_BLOCKING=1 so
#              that a fault is reported at the launch that made it
#   verify     `cudamlp verify --device gpu` (every op on awkward shapes, whole steps, a short run, both
#              engines, against the reference), then a golden file recorded here rerun on the GPU
#   memcheck, racecheck, synccheck
#              compute-sanitizer's tools over the Gpu/... tests (`sanitize`: all three)
#   accuracy   MNIST, 784-128-64-10, 3 epochs, batch 64, lr 0.1, seed 1, on each engine; the reference's
#              figure for the same run is in docs/accuracy.md (the issue: within 0.3 percentage points)
#   bench      `cudamlp bench` on both engines: the issue's three cells and a few more
#   kernels    the GEMM lab against cuBLAS, and the op microbenchmarks at 4096-wide layers
#   pytorch    cudamlp against PyTorch CUDA eager, side by side (benchmarks/compare_with_pytorch.py)
#   all        every stage above, in order (over 10 minutes: not in one device call)
#
#   scripts/gpu-validate.sh check tests        # several stages in one call: what fits in 10 minutes
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

bundle=build-device
logs=${OUT:-$bundle/logs}
mkdir -p "$logs"
[[ -x $bundle/bin/cudamlp ]] || { echo "gpu-validate: no $bundle/bin/cudamlp: run scripts/device-bundle.sh here, then carry $bundle" >&2; exit 2; }

# CUDA's libraries: the toolkit's, the driver's, or the ones PyTorch's wheels bring.
cuda_dirs=$(ls -d /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib 2>/dev/null | tr '\n' ':')
wheel_dirs=$(python3 - 2>/dev/null <<'EOF'
import glob, os, site
for root in site.getsitepackages():
    for lib in sorted(glob.glob(os.path.join(root, "nvidia", "*", "lib"))):
        print(lib, end=":")
EOF
)
# Our programs see the bundle's libraries and CUDA's; PyTorch is left to find its own (its wheels bring
# the CUDA libraries it was built with).
our_libs="$PWD/$bundle/lib:${cuda_dirs}${wheel_dirs}${LD_LIBRARY_PATH:-}"
our_libs=${our_libs%:}  # an empty entry would mean the current folder
ours() { LD_LIBRARY_PATH="$our_libs" "$@"; }
[[ -d /usr/local/cuda/bin ]] && PATH="$PATH:/usr/local/cuda/bin"
bin=$bundle/bin
gpu_tests="Gpu/*"

# Runs the test binary; fails when a test fails or skips (on the device a skip means no usable GPU).
gpu_tests_run() {
  local output=$logs/gtest-output.txt status
  "$@" --gtest_brief=1 2>&1 | tee "$output"
  status=${PIPESTATUS[0]}
  if grep -q '^\[  SKIPPED \]' "$output"; then echo "gpu-validate: tests skipped: the GPU is not usable"; return 1; fi
  return "$status"
}

stage_check() {
  nvidia-smi -L || return 1
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  local missing
  missing=$(ours ldd "$bin"/* | grep 'not found')
  if [[ -n $missing ]]; then echo "gpu-validate: unresolved libraries:"; echo "$missing"; return 1; fi
  echo "every library resolves"
  gpu_tests_run ours "$bin/cudamlp_tests" --gtest_filter='Gpu/OptimizerUpdateOnDevice.*'
}

stage_tests() {
  CUDA_LAUNCH_BLOCKING=1 gpu_tests_run ours "$bin/cudamlp_tests" --gtest_filter="$gpu_tests" || return 1
  gpu_tests_run ours "$bin/cudamlp_tests" --gtest_filter="$gpu_tests"
}

stage_verify() {
  ours "$bin/cudamlp" verify --device gpu || return 1
  local golden
  golden=$(mktemp -d)/golden.safetensors
  ours "$bin/cudamlp" verify --record "$golden" || return 1
  ours "$bin/cudamlp" verify --against "$golden" --device gpu
}

sanitize() {
  gpu_tests_run ours compute-sanitizer --tool "$1" --error-exitcode 1 "$bin/cudamlp_tests" --gtest_filter="$gpu_tests"
}
stage_memcheck() { sanitize memcheck; }
stage_racecheck() { sanitize racecheck; }
stage_synccheck() { sanitize synccheck; }

stage_accuracy() {
  local gemm status=0
  for gemm in custom cublas; do
    echo "== --device gpu --gemm $gemm"
    ours "$bin/cudamlp" train --device gpu --gemm "$gemm" --data "$bundle/mnist" --hidden 128,64 --epochs 3 --batch 64 \
      --lr 0.1 --seed 1 || status=1
  done
  echo "== the reference, same settings (docs/accuracy.md):"
  grep -m1 -i "784-128-64-10" docs/accuracy.md
  return "$status"
}

stage_bench() {
  ours "$bin/cudamlp" bench --backends gpu:custom,gpu:cublas,gpu --networks 784-10-10-10,784-128-64-10,784-4096-4096-10 \
    --batches 256,1024,8192 --budget 4 --json "$logs/bench.json"
}

stage_kernels() {
  ours "$bin/cudamlp_gemm_lab_benchmark" --rounds 7 || return 1
  ours "$bin/cudamlp_gpu_op_benchmarks" --benchmark_filter=4096 --benchmark_out="$logs/op-benchmarks.json" \
    --benchmark_out_format=json
}

stage_pytorch() {
  # cudamlp through a wrapper that gives it our libraries, so that PyTorch's process keeps its own.
  local wrapper
  wrapper=$(mktemp -d)/cudamlp
  printf '#!/usr/bin/env bash\nLD_LIBRARY_PATH=%q exec %q "$@"\n' "$our_libs" "$PWD/$bin/cudamlp" >"$wrapper"
  chmod +x "$wrapper"
  python3 benchmarks/compare_with_pytorch.py --device cuda --cudamlp "$wrapper" \
    --cudamlp-backends gpu,gpu:custom,gpu:cublas --rounds 5 --cells 784-10-10-10:256,784-128-64-10:256,784-4096-4096-10:8192
}

run_stage() {
  echo "### $1 ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  "stage_$1"
}

[[ $# -gt 0 ]] || { sed -n '2,23p' "$0"; exit 2; }
stages=()
for stage in "$@"; do
  case $stage in
    all) stages+=(check tests verify memcheck racecheck synccheck accuracy bench kernels pytorch) ;;
    sanitize) stages+=(memcheck racecheck synccheck) ;;
    *) stages+=("$stage") ;;
  esac
done
status=0
for stage in "${stages[@]}"; do
  if ! declare -F "stage_$stage" >/dev/null; then echo "gpu-validate: no stage '$stage' (see the top of $0)" >&2; exit 2; fi
  run_stage "$stage" 2>&1 | tee "$logs/$stage.log"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { status=1; echo "gpu-validate: stage $stage FAILED (log: $logs/$stage.log)"; }
done
exit $status
