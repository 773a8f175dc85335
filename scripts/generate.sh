#!/usr/bin/env bash
# Regenerates the files derived from the argoproj.io/v1alpha1 schema (libs/api/src/schema):
# libs/api/src/generated/types.generated.ts, libs/api/generated/*.schema.json, deploy/crds/*.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/with-env.sh tsc -b libs/api tools/cli
bash scripts/with-env.sh node tools/cli/dist/main.js generate --root "${1:-.}"
# The generated types are part of libs/api: rebuild so dist matches them.
[ -n "${1:-}" ] || bash scripts/with-env.sh tsc -b libs/api tools/cli
