#!/usr/bin/env bash
# npm run bench [-- NAME...]: set up (cached), build, and run the benchmarks. Each benchmark is a
# compiled `*.bench.js` under a package's dist/ (for example libs/core/dist/bench/core.bench.js);
# NAME picks benchmarks by file name (core, sensor, ...). Each prints its figures and writes
# bench/results/NAME.json. Benchmarks that need Kafka start their own broker (or use KAFKA_BROKERS).
source "$(dirname "$0")/env.sh"
mapfile -t all < <(find libs services tools e2e -path '*/node_modules' -prune -o -path '*/dist/*' -name '*.bench.js' -print | sort)
[ ${#all[@]} -gt 0 ] || die "no benchmarks found (looked for */dist/**/*.bench.js)"
picked=()
for f in "${all[@]}"; do
  name="$(basename "$f" .bench.js)"
  if [ $# -eq 0 ]; then picked+=("$f"); else for want in "$@"; do [ "$want" = "$name" ] && picked+=("$f"); done; fi
done
[ ${#picked[@]} -gt 0 ] || die "no benchmark named: $* (have: $(for f in "${all[@]}"; do basename "$f" .bench.js; done | tr '\n' ' '))"
mkdir -p bench/results
status=0
for f in "${picked[@]}"; do
  name="$(basename "$f" .bench.js)"
  echo "=== bench: $name ($f) ==="
  node --enable-source-maps "$f" "bench/results/$name.json" || status=1
done
exit $status
