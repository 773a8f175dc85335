#!/usr/bin/env bash
# npm start: set up (cached) and run the local stack in the foreground.
source "$(dirname "$0")/env.sh"
exec node --enable-source-maps --disable-warning=TimeoutNegativeWarning tools/devstack/dist/start.js "$@"
