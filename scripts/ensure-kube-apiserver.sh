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

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9

need_kubectl=0
command -v kubectl >/dev/null 2>&1 || [ -x "$BIN/kubectl" ] || need_kubectl=1

if [ ! -x "$BIN/kube-apiserver" ] || [ "$need_kubectl" = 1 ]; then
  command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] \
    || die "Go (>= 1.25) is required once to build kube-apiserver $KUBE_VERSION from the Go module proxy; install it (https://go.dev/dl or apt-get install golang-1.25) and re-run."
  command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
  build="$DIR/build"
  rm -rf "$build"
  mkdir -p "$build" "$BIN"
  # Private module and build caches: the build is self-contained and removed afterwards.
  export GOMODCACHE="$build/gomod" GOCACHE="$build/gocache" GOFLAGS="-modcacherw -buildvcs=false" CGO_ENABLED=0
  start=$(date +%s)
  say "building kube-apiserver v$KUBE_VERSION from the Go module proxy (once; several minutes on 2 cores)"
  cd "$build"
  # k8s.io/kubernetes replaces its staging modules with ./staging paths; map each one to its
  # published v0.<minor>.<patch> instead.
  modfile="$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [ -f "$modfile" ] || die "could not download k8s.io/kubernetes@v$KUBE_VERSION from the Go module proxy"
  {
    echo "module ganglion.local/kube-build"
    echo
    echo "go $(sed -n 's/^go \(.*\)$/\1/p' "$modfile")"
    echo
    echo "require k8s.io/kubernetes v$KUBE_VERSION"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$modfile" | while read -r m; do
      echo "	$m => $m v0.${KUBE_VERSION#1.}"
    done
    echo ")"
  } > go.mod
  go get "k8s.io/kubernetes/cmd/kube-apiserver@v$KUBE_VERSION" >&2
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $pkg.gitVersion=v$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)"
  done
  go build -trimpath -ldflags "$ldflags" -o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
  mv "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"
  if [ "$need_kubectl" = 1 ]; then
    say "no kubectl on PATH: building kubectl v$KUBE_VERSION too"
    go get "k8s.io/kubernetes/cmd/kubectl@v$KUBE_VERSION" >&2
    go build -trimpath -ldflags "$ldflags" -o "$BIN/kubectl" k8s.io/kubernetes/cmd/kubectl >&2
  fi
  cd "$DIR"
  rm -rf "$build"
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
