#!/bin/sh
# Checks a model directory against its lock before the engine loads anything: every
# locked file must exist with its sha256, and no other file may sit beside them (the
# engine would load it unverified). Hidden entries (.cache/ of `hf download`) are not
# part of a model. The lock file holds `sha256sum` lines: "<sha256>  <path>".
# Usage: verify-model-lock.sh <model directory> <lock file>
# Messages match `python -m serve_app.models verify`.
set -u
dir=${1%/}
lock=$2
failed=0
while read -r want path; do
  [ -n "$path" ] || continue
  if [ ! -f "$dir/$path" ]; then
    echo "model lock: $dir/$path: missing (the lock says sha256 $want)" >&2
    failed=1
    continue
  fi
  have=$(sha256sum "$dir/$path" | cut -d ' ' -f 1)
  if [ "$have" != "$want" ]; then
    echo "model lock: $dir/$path: sha256 is $have, the lock says $want" >&2
    failed=1
  fi
done < "$lock"
find -L "$dir" -mindepth 1 -name '.*' -prune -o -type f -print | {
  extra=0
  while read -r found; do
    relative=${found#"$dir"/}
    if ! cut -d ' ' -f 3- "$lock" | grep -qxF -- "$relative"; then
      echo "model lock: $dir/$relative: not in the lock (an unverified file the engine may load)" >&2
      extra=1
    fi
  done
  exit "$extra"
} || failed=1
if [ "$failed" -ne 0 ]; then
  exit 1
fi
echo "model lock: $dir matches the lock ($(grep -c . "$lock") files)"
