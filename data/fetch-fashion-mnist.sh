#!/usr/bin/env bash
# Fetch the Fashion-MNIST data set (Zalando Research): the four IDX files, uncompressed, with the same
# names as MNIST (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
# t10k-labels-idx1-ubyte), so the MNIST loader reads them unchanged.
#
# Usage: data/fetch-fashion-mnist.sh [DEST_DIR]
#   DEST_DIR defaults to the fashion-mnist/ folder next to this script (works from any current directory).
#
# Sources, tried in order until every file has been obtained with its expected SHA-256:
#   1. the Debian/Ubuntu package dataset-fashion-mnist when it is installed
#      (/usr/share/datasets/fashion-mnist/<name>.gz; override the folder with FASHION_MNIST_SYSTEM_DIR);
#   2. that package's .deb fetched with `apt-get download` and unpacked with dpkg-deb (needs no root,
#      changes nothing on the system);
#   3. `apt-get install dataset-fashion-mnist`, when running as root or with sudo;
#   4. the original .gz files over HTTPS (curl + gunzip). Override the list with
#      FASHION_MNIST_MIRRORS="https://host/a https://host/b" (each base URL must serve <name>.gz).
#   Set FASHION_MNIST_NO_APT=1 to skip sources 2 and 3.
# The SHA-256 values are of the uncompressed files. Debian's .gz files are recompressed (their bytes and
# MD5 differ from upstream's .gz), but the uncompressed data is identical to upstream's.
# Idempotent: if all four files are present with the right hashes it exits 0 without touching the network.
# Atomic: files are staged in a hidden folder inside DEST_DIR, verified, and only then renamed into place,
# so an interrupted or failed run never leaves a partial or unverified file under a final name.
# A file present with a wrong hash is replaced. Progress goes to stderr; the final status line to stdout.
# The steps shared with data/fetch-mnist.sh are in data/fetch-common.sh.
set -euo pipefail

readonly PROG=fetch-fashion-mnist
readonly DEB_PACKAGE=dataset-fashion-mnist
readonly FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
readonly DEFAULT_MIRRORS="https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"
readonly SYSTEM_DIR=${FASHION_MNIST_SYSTEM_DIR:-/usr/share/datasets/fashion-mnist}

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=fetch-common.sh source-path=SCRIPTDIR
source "$script_dir/fetch-common.sh"

expected_sha256() {
  case "$1" in
    train-images-idx3-ubyte) echo c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888 ;;
    train-labels-idx1-ubyte) echo bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9 ;;
    t10k-images-idx3-ubyte) echo 5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b ;;
    t10k-labels-idx1-ubyte) echo 0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34 ;;
    *) return 1 ;;
  esac
}

usage() {
  cat <<EOF
Usage: $0 [DEST_DIR]
Put the four Fashion-MNIST IDX files (uncompressed, SHA-256 verified, MNIST file names) into DEST_DIR
(default: the fashion-mnist/ folder next to this script). Sources: the installed Debian package
$DEB_PACKAGE ($SYSTEM_DIR), apt-get download / apt-get install of it (skip with
FASHION_MNIST_NO_APT=1), then the .gz mirrors in \$FASHION_MNIST_MIRRORS
(default: $DEFAULT_MIRRORS).
EOF
}

# First meaningful line of apt-get's, dpkg-deb's, curl's or gzip's log, for error messages (apt's
# warnings, its W: lines, count only when they read like an error).
first_error_line() {
  local line
  line=$(grep -m1 -E '(^E: |curl: |error|Error|failed|not found|denied)' "$1" || true)
  [ -n "$line" ] || line=$(grep -m1 -v -E '^[[:space:]]*$|^W: ' "$1" || true)
  clip_line "$line"
}

# from_dir DIR LABEL: take the files from a folder holding <name>.gz (or <name> uncompressed).
from_dir() {
  local dir=$1 label=$2 work="$stage/dir" f bad=0
  if [ ! -d "$dir" ]; then
    why="$label: $dir not found"
    return 1
  fi
  mkdir -p "$work"
  while IFS= read -r f; do
    if [ -f "$dir/$f.gz" ]; then
      if ! gzip -dc "$dir/$f.gz" >"$work/$f" 2>/dev/null; then
        why="$label: $dir/$f.gz is not a valid gzip file"
        bad=1
        continue
      fi
    elif [ -f "$dir/$f" ]; then
      cp -- "$dir/$f" "$work/$f"
    else
      why="$label: $dir has no $f.gz"
      bad=1
      continue
    fi
    if ! accept "$f" "$work/$f" "$label"; then
      why="$label: $f has a wrong SHA-256"
      bad=1
    fi
  done < <(todo_snapshot)
  rm -rf -- "$work"
  return "$bad"
}

from_apt_download() {
  local work="$stage/deb" deb
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
    why="apt-get download: apt-get/dpkg-deb not found"
    return 1
  fi
  mkdir -p "$work"
  log "downloading the $DEB_PACKAGE .deb with apt-get download (31 MB)"
  if ! (cd "$work" && apt-get download -q "$DEB_PACKAGE") >"$work/log" 2>&1; then
    why="apt-get download $DEB_PACKAGE failed: $(first_error_line "$work/log")"
    return 1
  fi
  deb=$(find "$work" -maxdepth 1 -name "${DEB_PACKAGE}_*.deb" -print -quit)
  if [ -z "$deb" ]; then
    why="apt-get download $DEB_PACKAGE produced no .deb"
    return 1
  fi
  if ! dpkg-deb -x "$deb" "$work/x" >"$work/log" 2>&1; then
    why="dpkg-deb -x $(basename "$deb") failed: $(first_error_line "$work/log")"
    return 1
  fi
  rm -f -- "$deb"
  from_dir "$work/x/usr/share/datasets/fashion-mnist" "$(basename "$deb")" || return 1
  rm -rf -- "$work"
}

from_apt_install() {
  local sudo=() log="$stage/apt.log"
  if ! command -v apt-get >/dev/null 2>&1; then
    why="apt-get install: apt-get not found"
    return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      why="apt-get install: not root and sudo not found"
      return 1
    elif sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    elif [ -t 0 ]; then
      sudo=(sudo)
    else
      why="apt-get install: not root and sudo needs a password (no terminal)"
      return 1
    fi
  fi
  log "installing $DEB_PACKAGE with ${sudo[*]:+${sudo[*]} }apt-get (31 MB)"
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "$DEB_PACKAGE" >"$log" 2>&1; then
    log "apt-get install failed; running apt-get update and retrying"
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 ||
      ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "$DEB_PACKAGE" >"$log" 2>&1; then
      why="apt-get install $DEB_PACKAGE failed: $(first_error_line "$log")"
      return 1
    fi
  fi
  from_dir "$SYSTEM_DIR" "installed $DEB_PACKAGE"
}

open_destination "$script_dir/fashion-mnist" "$@"
list_needed
if [ ${#needed[@]} -eq 0 ]; then
  echo "Fashion-MNIST already in $dest"
  exit 0
fi
open_staging

read -r -a mirrors <<<"${FASHION_MNIST_MIRRORS:-$DEFAULT_MIRRORS}"
why=""  # reason the last source failed
failures=()
used=""
if [ -d "$SYSTEM_DIR" ] && from_dir "$SYSTEM_DIR" "installed $DEB_PACKAGE"; then
  used="$SYSTEM_DIR"
else
  [ ! -d "$SYSTEM_DIR" ] || failures+=("$why")
  if [ -n "${FASHION_MNIST_NO_APT:-}" ]; then
    failures+=("apt: skipped (FASHION_MNIST_NO_APT is set)")
  elif from_apt_download; then
    used="apt-get download $DEB_PACKAGE"
  else
    failures+=("$why")
    if from_apt_install; then
      used="apt-get install $DEB_PACKAGE"
    else
      failures+=("$why")
    fi
  fi
  if [ -n "$(todo)" ]; then
    for m in "${mirrors[@]}"; do
      if from_mirror "$m"; then
        used="$m"
        break
      fi
      failures+=("$why")
    done
  fi
fi

install_fetched "could not get Fashion-MNIST" "${failures[@]}"
echo "Fashion-MNIST ready in $dest (${#needed[@]} file(s) from $used, SHA-256 verified)"
