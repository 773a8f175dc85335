# Shared by ensure-kube-apiserver.sh and ensure-kube-node.sh (sourced, not run): builds
# Kubernetes commands of one version from the Go module proxy in a private, throw-away build
# folder. Expects KUBE_VERSION, die and say from the sourcing script.

# kube_build_start BUILD_DIR WHAT: checks for Go, makes BUILD_DIR the working folder with private
# module and build caches, and writes its go.mod: k8s.io/kubernetes replaces its staging modules
# with ./staging paths, so each one is mapped to its published v0.<minor>.<patch> instead.
kube_build_start() {
  local build="$1" what="$2" modfile
  command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] \
    || die "Go (>= 1.25) is required once to build $what $KUBE_VERSION from the Go module proxy; install it (https://go.dev/dl or apt-get install golang-1.25) and re-run."
  command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
  rm -rf "$build"
  mkdir -p "$build"
  # Private module and build caches: the build is self-contained and removed afterwards.
  export GOMODCACHE="$build/gomod" GOCACHE="$build/gocache" GOFLAGS="-modcacherw -buildvcs=false" CGO_ENABLED=0
  cd "$build"
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
}

# kube_ldflags: the -ldflags that stamp the version the way Kubernetes' own build does.
kube_ldflags() {
  local ldflags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $pkg.gitVersion=v$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)"
  done
  echo "$ldflags"
}
