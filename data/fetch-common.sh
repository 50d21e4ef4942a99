# shellcheck shell=bash
# data/fetch-common.sh: the steps that data/fetch-mnist.sh and data/fetch-fashion-mnist.sh share, sourced
# by both: reading DEST_DIR, SHA-256 checks, the staging folder that makes a fetch atomic, and the download
# of <name>.gz files from a mirror. A library: it only defines functions; sourcing it runs nothing.
#
# The sourcing script sets PROG (its name in messages) and FILES (the file names), and defines
#   usage                  the --help text;
#   expected_sha256 NAME   the hex SHA-256 of file NAME, uncompressed;
#   first_error_line LOG   the line of a tool's log that says why it failed (each script knows its tools).
# It then runs these steps, in order; each sets the globals named after it:
#   open_destination DEFAULT_DIR "$@"   dest: DEST_DIR (or DEFAULT_DIR), created, absolute;
#   list_needed                         needed: files missing or with a wrong hash; replaced: the latter;
#   open_staging                        stage: a hidden folder in dest, removed on exit;
#   its own sources, then from_mirror   each hands the files it gets to accept, asks todo what is left,
#                                       and on failure returns 1 with the reason in why;
#   install_fetched WHAT FAILURE...     renames the verified files into place, or dies with the FAILUREs.

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
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

# clip_line LINE: a line from a tool's log made fit for one of our one-line error messages (tabs and
# carriage returns become spaces, 200 characters at most, "no output" when empty).
clip_line() {
  printf '%s\n' "${1:-no output}" | tr -s '\t\r' '  ' | cut -c1-200
}

# open_destination DEFAULT_DIR [ARG...]: answer --help (exit 0) or more than one ARG (exit 2), then
# create DEST_DIR (the ARG, else DEFAULT_DIR) and set dest to its absolute physical path.
open_destination() {
  local default=$1
  shift
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
  dest=${1:-$default}
  mkdir -p -- "$dest" || die "cannot create destination folder $dest"
  dest=$(cd -- "$dest" && pwd -P)
}

# list_needed: which FILES need fetching? Sets needed (missing or wrong hash) and replaced (present with
# a wrong hash).
list_needed() {
  local f
  needed=()
  replaced=()
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
}

# open_staging: the staging area, inside the destination (same file system, so the final mv is an atomic
# rename); verified files wait in $stage/ok. It is removed on exit, signals included. Staging folders
# left by a run that was killed hard (SIGKILL) are removed once they are an hour old.
open_staging() {
  find "$dest" -maxdepth 1 -type d -name '.fetch-tmp.*' -mmin +60 -exec rm -rf -- {} + 2>/dev/null || true
  stage=$(mktemp -d "$dest/.fetch-tmp.XXXXXX")
  trap 'rm -rf -- "$stage"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  mkdir -p "$stage/ok"
}

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

# from_mirror BASE_URL: download BASE_URL/<name>.gz for each file still to obtain, and gunzip it.
# On failure it returns 1 with the reason in why, which the sourcing script reads (hence SC2034).
# shellcheck disable=SC2034
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

# install_fetched WHAT [FAILURE...]: rename every needed file from the staging area into place (atomic per
# file), or, if some file is still to obtain, die with "WHAT (<files>) into <dest>; every source failed:
# FAILURE; ...".
install_fetched() {
  local what=$1 missing msg f
  shift
  if [ -n "$(todo)" ]; then
    missing=$(todo | tr '\n' ' ')
    msg="$what (${missing% }) into $dest; every source failed: $(printf '%s; ' "$@")"
    msg=${msg%; }
    [ ${#replaced[@]} -eq 0 ] || msg="$msg (files with a wrong hash left as they were: ${replaced[*]})"
    die "$msg"
  fi
  for f in "${needed[@]}"; do
    mv -f -- "$stage/ok/$f" "$dest/$f"
  done
}
