#!/usr/bin/env bash
# npm run ganglion -- ARGS: the ganglion CLI (lint, generate) with the toolchain set up and built.
# Paths are relative to where the command was typed (npm's INIT_CWD), not the repository root.
caller="${INIT_CWD:-$PWD}"
GANGLION_QUIET=1 source "$(dirname "$0")/env.sh" >/dev/null
cd "$caller"
exec node --enable-source-maps "$GANGLION_ROOT/tools/cli/dist/main.js" "$@"
