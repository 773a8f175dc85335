#!/usr/bin/env bash
# npm run bench [-- NAME [ARGS...]]: set up (cached), build, and run benchmarks (docs/benchmarks.md).
# Each benchmark is a compiled `*.bench.js` under a package's dist-test/ (tsconfig.test.json:
# libs/core/dist-test/bench/core.bench.js, ...) or e2e/dist/ (e2e/dist/bench/sensor.bench.js). They run
# with tools/devstack/dist/dist-test-hook.js, which resolves their imports of product code to dist/.
# Without NAME every benchmark runs; with NAME that one runs with ARGS, and then the ones named
# NAME-* (`lean` runs lean and lean-load). Each prints its figures and writes bench/results/<name>*.json. Benchmarks that need
# Kafka start their own broker (or use KAFKA_BROKERS).
source "$(dirname "$0")/env.sh"
mapfile -t all < <(find libs services tools e2e -path '*/node_modules' -prune -o \( -path '*/dist-test/*' -o -path 'e2e/dist/*' \) -name '*.bench.js' -print | sort)
[ ${#all[@]} -gt 0 ] || die "no benchmarks found (looked for */dist-test/**/*.bench.js and e2e/dist/**/*.bench.js)"
names() { for f in "${all[@]}"; do basename "$f" .bench.js; done | tr '\n' ' '; }
run() { echo "=== bench: $(basename "$1" .bench.js) ($1) ==="; node --import "$GANGLION_ROOT/tools/devstack/dist/dist-test-hook.js" --enable-source-maps --expose-gc --disable-warning=TimeoutNegativeWarning "$@"; }
mkdir -p bench/results
if [ $# -eq 0 ]; then
  status=0
  for f in "${all[@]}"; do run "$f" || status=1; done
  exit $status
fi
want="$1"; shift
status=0; found=0
for f in "${all[@]}"; do
  [ "$(basename "$f" .bench.js)" = "$want" ] && { found=1; run "$f" "$@" || status=1; }
done
for f in "${all[@]}"; do
  case "$(basename "$f" .bench.js)" in "$want"-*) found=1; run "$f" "$@" || status=1 ;; esac
done
[ $found = 1 ] || die "no benchmark named '$want' (have: $(names))"
exit $status
