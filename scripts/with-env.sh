#!/usr/bin/env bash
# Runs a command with the project's toolchain on PATH (no build).
GANGLION_SKIP_BUILD=1 source "$(dirname "$0")/env.sh"
exec "$@"
