#!/usr/bin/env bash
# npm run bench -- <name> [args]: build, then run e2e/dist/bench/<name>.bench.js (docs/benchmarks.md).
source "$(dirname "$0")/env.sh"
name="${1:-sensor}"; shift || true
exec node --enable-source-maps --disable-warning=TimeoutNegativeWarning "e2e/dist/bench/${name}.bench.js" "$@"
