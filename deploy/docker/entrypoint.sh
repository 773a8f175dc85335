#!/bin/sh
# Starts one Ganglion service by name: reconciler, ingress-webhook, sensor, trigger, ...
# With the telemetry preload (traces are exported when OTEL_EXPORTER_OTLP_ENDPOINT is set).
# Writes nothing outside /tmp: the image runs with a read-only root filesystem.
set -eu
services="$(ls /app/services | tr '\n' ' ')"
service="${1:-}"
if [ -z "$service" ] || [ "$service" = "--help" ] || [ "$service" = "-h" ]; then
  echo "usage: ganglion-service SERVICE (one of: $services)" >&2
  [ -n "$service" ] && exit 0 || exit 2
fi
main="/app/dist/bundle/$service.js"
[ -f "$main" ] || { echo "ganglion: unknown service '$service' (have: $services)" >&2; exit 2; }
exec node --import /app/libs/telemetry/dist/register.js "$main"
