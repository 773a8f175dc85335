#!/usr/bin/env bash
# Fails when the committed generated files differ from what `ganglion generate` produces now
# (from libs/api's schema and its SOURCE_KINDS), or when a generated folder holds a file or an
# ingress service/chart that it no longer produces.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
bash scripts/generate.sh "$tmp" >/dev/null
status=0
for f in $(cd "$tmp" && find . -type f | sort); do
  if ! diff -u "${f#./}" "$tmp/$f" >"$tmp.diff" 2>&1; then
    echo "check-generated: ${f#./} is out of date with libs/api (schema or SOURCE_KINDS)" >&2
    head -40 "$tmp.diff" >&2
    status=1
  fi
done
# Everything in these folders is generated (builds, installed modules and Helm's dependency
# downloads aside): a file the generator does not write is stale, e.g. the service or chart of a
# source type no longer in SOURCE_KINDS.
for f in $(find libs/api/generated deploy/crds services/ingress-* charts/ingress-* \
    \( -name node_modules -o -name dist -o -name dist-test -o -path 'charts/*/charts' \) -prune -o \( -type f -not -name Chart.lock -print \) | sort); do
  [ -e "$tmp/$f" ] || { echo "check-generated: $f is not produced by ganglion generate: delete it (a source type no longer in SOURCE_KINDS, or a hand-written file in a generated folder)" >&2; status=1; }
done
rm -f "$tmp.diff"
if [ "$status" -ne 0 ]; then
  echo "check-generated: generated files drifted; run scripts/generate.sh and commit the result" >&2
  exit 1
fi
echo "check-generated: generated files are up to date"
