#!/usr/bin/env bash
# Regenerates the files derived from libs/api (`ganglion generate --help` lists them): from the
# argoproj.io/v1alpha1 schema (libs/api/src/schema) the types, JSON Schemas and CRDs; from
# SOURCE_KINDS (libs/api/src/eventsources/source-kinds.ts) each source type's service package and chart, the
# umbrella chart and tsconfig.ingress.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/with-env.sh tsc -b libs/api tools/cli
bash scripts/with-env.sh node tools/cli/dist/main.js generate --root "${1:-.}"
# The generated types are part of libs/api: rebuild so dist matches them.
[ -n "${1:-}" ] || bash scripts/with-env.sh tsc -b libs/api tools/cli
