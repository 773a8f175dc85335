#!/usr/bin/env bash
# npm test: set up (cached), build, and run every check and test suite.
# Optional arguments pick suites: lint generated unit fuzz e2e image platform.
source "$(dirname "$0")/env.sh"
exec node --enable-source-maps tools/devstack/dist/run-tests.js "$@"
