#!/usr/bin/env bash
# Ensures a real Kubernetes control plane for tests: kube-apiserver (built from the Go module
# proxy, cached by version) and etcd (Debian's etcd-server). Idempotent; prints
#   KUBE_APISERVER=<path>
#   ETCD=<path>
#   KUBECTL=<path>
# on stdout. Progress goes to stderr. Needs Go >= 1.25 (only for the first build) and apt-get
# (only when etcd is missing).
#
#   KUBE_VERSION  Kubernetes version to build (default below)
#   GANGLION_CACHE  cache root (default ~/.cache/ganglion)
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-1.35.4}"
CACHE="${GANGLION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ganglion}"
DIR="$CACHE/kube-$KUBE_VERSION"
BIN="$DIR/bin"

die() { echo "ganglion: $*" >&2; exit 1; }
say() { echo "ganglion: $*" >&2; }
# shellcheck source=kube-build.sh
source "$(dirname "$0")/kube-build.sh"

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9

need_kubectl=0
command -v kubectl >/dev/null 2>&1 || [ -x "$BIN/kubectl" ] || need_kubectl=1

if [ ! -x "$BIN/kube-apiserver" ] || [ "$need_kubectl" = 1 ]; then
  start=$(date +%s)
  mkdir -p "$BIN"
  kube_build_start "$DIR/build" kube-apiserver
  say "building kube-apiserver v$KUBE_VERSION from the Go module proxy (once; several minutes on 2 cores)"
  go get "k8s.io/kubernetes/cmd/kube-apiserver@v$KUBE_VERSION" >&2
  ldflags="$(kube_ldflags)"
  go build -trimpath -ldflags "$ldflags" -o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
  mv "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"
  if [ "$need_kubectl" = 1 ]; then
    say "no kubectl on PATH: building kubectl v$KUBE_VERSION too"
    go get "k8s.io/kubernetes/cmd/kubectl@v$KUBE_VERSION" >&2
    go build -trimpath -ldflags "$ldflags" -o "$BIN/kubectl" k8s.io/kubernetes/cmd/kubectl >&2
  fi
  cd "$DIR"
  rm -rf "$DIR/build"
  say "built kube-apiserver v$KUBE_VERSION in $(( $(date +%s) - start )) s"
fi

if ! command -v etcd >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "etcd is missing and there is no apt-get to install Debian's etcd-server; install etcd (>= 3.4) and re-run."
  say "installing etcd (Debian etcd-server)"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >&2 || die "apt-get update failed; install etcd-server by hand"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends etcd-server >&2 \
    || die "could not apt-get install etcd-server; install etcd (>= 3.4) and re-run."
fi

echo "KUBE_APISERVER=$BIN/kube-apiserver"
echo "ETCD=$(command -v etcd)"
if [ -x "$BIN/kubectl" ]; then echo "KUBECTL=$BIN/kubectl"; else echo "KUBECTL=$(command -v kubectl)"; fi
