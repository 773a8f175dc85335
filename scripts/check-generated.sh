#!/usr/bin/env bash
# Fails when the committed generated files differ from what the schema produces now.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
bash scripts/generate.sh "$tmp" >/dev/null
status=0
for f in $(cd "$tmp" && find . -type f | sort); do
  if ! diff -u "${f#./}" "$tmp/$f" >"$tmp.diff" 2>&1; then
    echo "check-generated: ${f#./} is out of date with libs/api/src/schema" >&2
    head -40 "$tmp.diff" >&2
    status=1
  fi
done
for dir in libs/api/generated deploy/crds; do
  for f in "$dir"/*; do
    [ -e "$tmp/$f" ] || { echo "check-generated: $f is not produced by the schema any more (delete it)" >&2; status=1; }
  done
done
rm -f "$tmp.diff"
if [ "$status" -ne 0 ]; then
  echo "check-generated: generated files drifted; run scripts/generate.sh and commit the result" >&2
  exit 1
fi
echo "check-generated: generated files are up to date"
