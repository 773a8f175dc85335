#!/usr/bin/env bash
# Ensures a Jaeger binary (the v2, OpenTelemetry-collector based `cmd/jaeger`) for npm start and the
# tests: built from the Go module proxy in a small wrapper module, cached by version. Idempotent;
# parallel callers wait on a lock while one builds. Prints
#   JAEGER=<path>
# on stdout. Progress goes to stderr. Needs Go >= 1.24 (only for the first build).
# `ensure-jaeger.sh --cached` never builds: it prints the path if the binary is cached, else
# exits with 3.
#
#   JAEGER_VERSION  Jaeger version to build (default below)
#   GANGLION_CACHE  cache root (default ~/.cache/ganglion)
set -euo pipefail

JAEGER_VERSION="${JAEGER_VERSION:-1.75.0}"
CACHE="${GANGLION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ganglion}"
DIR="$CACHE/jaeger-$JAEGER_VERSION"
BIN="$DIR/bin/jaeger"

die() { echo "ganglion: $*" >&2; exit 1; }
say() { echo "ganglion: $*" >&2; }

if [ "${1:-}" = --cached ]; then
  [ -x "$BIN" ] || exit 3
  echo "JAEGER=$BIN"; exit 0
fi

mkdir -p "$DIR"
if [ ! -x "$BIN" ]; then
  exec 9>"$DIR/.lock"
  flock -n 9 || { say "another process is building Jaeger v$JAEGER_VERSION: waiting for it"; flock 9; }
fi

if [ ! -x "$BIN" ]; then
  command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] \
    || die "Go (>= 1.24) is required once to build Jaeger $JAEGER_VERSION from the Go module proxy; install it (https://go.dev/dl or apt-get install golang-1.24) and re-run."
  command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
  build="$DIR/build"
  rm -rf "$build"
  mkdir -p "$build" "$DIR/bin"
  # Private module and build caches: the build is self-contained and removed afterwards.
  export GOMODCACHE="$build/gomod" GOCACHE="$build/gocache" GOFLAGS="-modcacherw -buildvcs=false" CGO_ENABLED=0 GOTOOLCHAIN=local
  start=$(date +%s)
  say "building Jaeger v$JAEGER_VERSION from the Go module proxy (once; a few minutes on 2 cores)"
  cd "$build"
  modfile="$(go mod download -json "github.com/jaegertracing/jaeger@v$JAEGER_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [ -f "$modfile" ] || die "could not download github.com/jaegertracing/jaeger@v$JAEGER_VERSION from the Go module proxy"
  # A dependency's replace directives do not apply to the main module: carry Jaeger's over.
  {
    echo "module ganglion.local/jaeger-build"
    echo
    echo "go $(sed -n 's/^go \(.*\)$/\1/p' "$modfile")"
    echo
    echo "require github.com/jaegertracing/jaeger v$JAEGER_VERSION"
    echo
    grep '^replace ' "$modfile" || true
  } > go.mod
  go get "github.com/jaegertracing/jaeger/cmd/jaeger@v$JAEGER_VERSION" >&2
  # The UI assets (jaeger-ui) are not part of the Go module: the query service then serves a
  # placeholder page at /, while the query API (/api/...) is complete.
  pkg=github.com/jaegertracing/jaeger/internal/version
  go build -trimpath -ldflags "-s -w -X $pkg.latestVersion=v$JAEGER_VERSION" -o "$BIN.tmp" github.com/jaegertracing/jaeger/cmd/jaeger >&2
  mv "$BIN.tmp" "$BIN"
  cd "$DIR"
  rm -rf "$build"
  say "built Jaeger v$JAEGER_VERSION in $(( $(date +%s) - start )) s ($(du -h "$BIN" | cut -f1))"
fi

echo "JAEGER=$BIN"
