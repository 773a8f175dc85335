#!/usr/bin/env bash
# Ensures a built @confluentinc/kafka-javascript (librdkafka) for the project's Node, outside the
# workspace: the clients benchmark (libs/eventbus/src/bench/clients.bench.ts) loads it from here,
# so no package.json depends on it and `npm test` never builds it. Idempotent and cached by
# client version and Node ABI; prints the install directory on stdout (progress on stderr):
#   ${GANGLION_CACHE:-~/.cache/ganglion}/ckjs-<version>-node<process.versions.modules>
# with the package in <dir>/node_modules/@confluentinc/kafka-javascript.
#
# The native addon builds only against the system's librdkafka dependencies, dynamically linked
# (CKJS_LINKING=dynamic): Debian's libzstd-dev libcurl4-openssl-dev libsasl2-dev liblz4-dev are
# installed when missing (needs root or password-less sudo, once). The cold build takes about
# 75-105 s on 2 cores; its time is printed and kept in <dir>/.build-seconds.
#
#   CKJS_VERSION    client version (default below)
#   GANGLION_CACHE  cache root (default ~/.cache/ganglion)
set -euo pipefail

CKJS_VERSION="${CKJS_VERSION:-1.10.1}"
APT_PACKAGES=(libzstd-dev libcurl4-openssl-dev libsasl2-dev liblz4-dev libssl-dev zlib1g-dev)

# The project's Node 24 and npm (no TypeScript build needed here). env.sh changes directory.
GANGLION_SKIP_BUILD=1 GANGLION_QUIET=1 source "$(dirname "$0")/env.sh"

modules="$(node -p 'process.versions.modules')"
DIR="$GANGLION_CACHE/ckjs-$CKJS_VERSION-node$modules"
PKG="$DIR/node_modules/@confluentinc/kafka-javascript"

loads() { (cd "$DIR" && node -e 'require("@confluentinc/kafka-javascript")' >/dev/null 2>&1); }

if [ -f "$DIR/.ok" ] && loads; then
  echo "$DIR"
  exit 0
fi

mkdir -p "$GANGLION_CACHE"
exec 9>"$GANGLION_CACHE/ckjs.lock"
flock -w 900 9 || die "timed out waiting for another build of @confluentinc/kafka-javascript (lock $GANGLION_CACHE/ckjs.lock)"
if [ -f "$DIR/.ok" ] && loads; then
  echo "$DIR"
  exit 0
fi

# --- Debian build dependencies ------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "building @confluentinc/kafka-javascript needs ${missing[*]} and there is no apt-get; install them and re-run."
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    sudo -n true 2>/dev/null || die "building @confluentinc/kafka-javascript needs ${missing[*]}: run as root, or: sudo apt-get install -y --no-install-recommends ${missing[*]}"
    SUDO="sudo -n"
  fi
  say "installing ${missing[*]} (Debian; build dependencies of librdkafka)"
  aptlog=/tmp/ganglion-apt-ckjs.log
  install() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >"$aptlog" 2>&1; }
  (
    flock -w 600 8 || exit 1
    install || { $SUDO apt-get update >>"$aptlog" 2>&1 || true; install; }
  ) 8>/tmp/ganglion-apt.lock || die "apt-get install ${missing[*]} failed (see $aptlog)"
fi

# --- Node headers matching the Node that will load the addon --------------------
# ~/.npmrc may point nodedir at /usr (the system Node 20): the addon must be built against the
# headers of the Node running it, or it fails to load (NODE_MODULE_VERSION mismatch).
node_root="$(cd "$(dirname "$(command -v node)")/.." && pwd)"
if [ -f "$node_root/include/node/node_version.h" ] \
  && grep -q "define NODE_MAJOR_VERSION $(node -p 'process.versions.node.split(".")[0]')\$" "$node_root/include/node/node_version.h"; then
  export npm_config_nodedir="$node_root"
else
  # Empty (overriding ~/.npmrc): node-gyp downloads the running Node's headers (needs nodejs.org).
  export npm_config_nodedir=""
  say "no Node headers next to $(command -v node); node-gyp will try to download them"
fi

# --- build ----------------------------------------------------------------------
tmp="$DIR.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
echo '{ "name": "ganglion-ckjs", "private": true }' > "$tmp/package.json"
log="$GANGLION_CACHE/ckjs-$CKJS_VERSION-node$modules.build.log"
say "building @confluentinc/kafka-javascript@$CKJS_VERSION (librdkafka, dynamically linked) for Node $(node --version) (ABI $modules) into $DIR; once, about 2 minutes; log: $log"
start=$(date +%s)
# build-from-source: node-pre-gyp would otherwise try GitHub for a prebuilt binary first. No
# JOBS in the environment: with JOBS=2 set the build failed (make exit 2 after librdkafka's
# configure); node-gyp and librdkafka's `make -j` use the cores anyway.
if ! (
  cd "$tmp"
  CKJS_LINKING=dynamic npm_config_build_from_source=true \
    npm install --no-audit --no-fund --no-package-lock --loglevel=http --foreground-scripts \
    "@confluentinc/kafka-javascript@$CKJS_VERSION" >"$log" 2>&1
); then
  tail -n 30 "$log" >&2 || true
  die "could not build @confluentinc/kafka-javascript@$CKJS_VERSION (full log: $log). It needs a C/C++ toolchain (build-essential, python3), Debian's ${APT_PACKAGES[*]}, and Node headers matching $(node --version) (npm_config_nodedir=${npm_config_nodedir:-unset})."
fi
(cd "$tmp" && node -e 'require("@confluentinc/kafka-javascript")') >>"$log" 2>&1 \
  || { tail -n 20 "$log" >&2; die "@confluentinc/kafka-javascript@$CKJS_VERSION built but does not load in Node $(node --version) (log: $log)"; }
seconds=$(( $(date +%s) - start ))
echo "$seconds" > "$tmp/.build-seconds"
touch "$tmp/.ok"
rm -rf "$DIR"
mv "$tmp" "$DIR"
trap - EXIT
say "built @confluentinc/kafka-javascript@$CKJS_VERSION in $seconds s"
[ -f "$PKG/package.json" ] || die "no package at $PKG after the build"
echo "$DIR"
