#!/usr/bin/env bash
# Ensures the node half of a real single-node Kubernetes cluster for tests: kubelet,
# kube-controller-manager, kube-scheduler, kube-proxy and kubectl v$KUBE_VERSION, built from the Go module
# proxy in ONE `go build` (they share most packages) and cached by version beside kube-apiserver
# (scripts/ensure-kube-apiserver.sh). Idempotent; prints
#   KUBELET=<path>
#   KUBE_CONTROLLER_MANAGER=<path>
#   KUBE_SCHEDULER=<path>
#   KUBE_PROXY=<path>
#   KUBECTL=<path>
#   PAUSE=<path>   the pod sandbox's pause binary: build/pause/linux/pause.c of the same
#                  k8s.io/kubernetes module, compiled with gcc -static
# on stdout. Progress goes to stderr. Needs Go >= 1.25 and gcc (with a static libc) only for the
# first build.
#
#   KUBE_VERSION  Kubernetes version to build (default below)
#   GANGLION_CACHE  cache root (default ~/.cache/ganglion)
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-1.35.4}"
CACHE="${GANGLION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ganglion}"
DIR="$CACHE/kube-$KUBE_VERSION"
BIN="$DIR/bin"
CMDS="kubelet kube-controller-manager kube-scheduler kube-proxy kubectl"

die() { echo "ganglion: $*" >&2; exit 1; }
say() { echo "ganglion: $*" >&2; }
# shellcheck source=kube-build.sh
source "$(dirname "$0")/kube-build.sh"

mkdir -p "$DIR"
exec 9>"$DIR/.node-lock"
flock 9

missing=""
for c in $CMDS; do [ -x "$BIN/$c" ] || missing="$missing $c"; done

# The pause binary, from the k8s.io/kubernetes module in GOMODCACHE.
build_pause() {
  command -v gcc >/dev/null 2>&1 || die "gcc is required once to compile the pod sandbox's pause binary (apt-get install gcc libc6-dev) and re-run."
  local src
  src="$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/build/pause/linux/pause.c"
  [ -f "$src" ] || die "no build/pause/linux/pause.c in k8s.io/kubernetes@v$KUBE_VERSION"
  gcc -Os -static -DVERSION="v$KUBE_VERSION-ganglion" -o "$BIN/pause.tmp" "$src" >&2 \
    || die "gcc -static could not compile pause.c (is libc6-dev installed?)"
  strip "$BIN/pause.tmp" 2>/dev/null || true
  mv "$BIN/pause.tmp" "$BIN/pause"
}

if [ -n "$missing" ] || [ ! -x "$BIN/pause" ]; then
  start=$(date +%s)
  mkdir -p "$BIN"
  kube_build_start "$DIR/node-build" "${missing# }"
  say "building$missing v$KUBE_VERSION from the Go module proxy (once; kubelet takes 5-11 minutes on 2 cores)"
  [ -x "$BIN/pause" ] || build_pause
  pkgs=""
  for c in $missing; do
    go get "k8s.io/kubernetes/cmd/$c@v$KUBE_VERSION" >&2
    pkgs="$pkgs k8s.io/kubernetes/cmd/$c"
  done
  ldflags="$(kube_ldflags)"
  if [ -n "$pkgs" ]; then
    mkdir -p out
    # shellcheck disable=SC2086
    go build -trimpath -ldflags "$ldflags" -o out/ $pkgs >&2
    for c in $missing; do mv "out/$c" "$BIN/$c"; done
  fi
  cd "$DIR"
  rm -rf "$DIR/node-build"
  say "built$missing pause v$KUBE_VERSION in $(( $(date +%s) - start )) s"
fi

echo "KUBELET=$BIN/kubelet"
echo "KUBE_CONTROLLER_MANAGER=$BIN/kube-controller-manager"
echo "KUBE_SCHEDULER=$BIN/kube-scheduler"
echo "KUBE_PROXY=$BIN/kube-proxy"
echo "KUBECTL=$BIN/kubectl"
echo "PAUSE=$BIN/pause"
