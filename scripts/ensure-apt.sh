#!/usr/bin/env bash
# Installs a Debian package when its binary is missing (idempotent; serialised with a lock).
# Usage: scripts/ensure-apt.sh <binary> [package]   e.g. scripts/ensure-apt.sh nats-server
# Exits non-zero with one clear message when the binary is missing and cannot be installed.
set -euo pipefail
bin="$1"
pkg="${2:-$1}"
have() { command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || [ -x "/usr/bin/$bin" ]; }
have && exit 0
fail() { echo "ganglion: $bin is required by the tests and could not be installed: $1 (install it with: apt-get install -y --no-install-recommends $pkg)" >&2; exit 1; }
command -v apt-get >/dev/null 2>&1 || fail "apt-get is not available on this machine"
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || fail "not root and no password-less sudo"
  SUDO="sudo -n"
fi
install() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "$pkg" >/tmp/ganglion-apt-$pkg.log 2>&1; }
(
  # One apt run at a time (parallel test files may ask together).
  flock -w 600 9 || fail "timed out waiting for another apt-get"
  have && exit 0
  install || { $SUDO apt-get update >/tmp/ganglion-apt-update.log 2>&1 || true; install; } || fail "apt-get install failed (see /tmp/ganglion-apt-$pkg.log)"
) 9>/tmp/ganglion-apt.lock
have || fail "the package $pkg did not provide $bin"
