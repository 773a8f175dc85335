#!/bin/sh
# Starts one Ganglion service by name: reconciler, ingress-webhook, sensor, trigger, ...
set -eu
service="${1:?usage: ganglion-service SERVICE (one of: $(ls /app/services | tr '\n' ' '))}"
main="/app/services/$service/dist/main.js"
[ -f "$main" ] || { echo "ganglion: unknown service '$service' (have: $(ls /app/services | tr '\n' ' '))" >&2; exit 2; }
exec node --enable-source-maps "$main"
