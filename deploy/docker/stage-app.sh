#!/usr/bin/env bash
# Lays out what the Ganglion image adds on top of Node, from a built workspace (tsc -b done):
#   OUT/app/                         package.json, pnpm-lock.yaml, patches/, dist/bundle/ (the
#                                    services as they run: scripts/bundle.mjs), every library's
#                                    and service's package.json, libs/telemetry/dist/ (the
#                                    preload, which the bundles share), production node_modules
#                                    (pnpm install --prod)
#   OUT/usr/local/bin/ganglion-service   the entrypoint (deploy/docker/entrypoint.sh)
# Left out: the other packages' dist/ (in the bundle), TypeScript sources, tests (dist-test/),
# declaration files, libs/testing, tools/, e2e/,
# dev dependencies, and the markdown, type declarations and source maps inside node_modules.
# dist/bundle imports what it does not hold by paths into node_modules/.pnpm: the install below
# makes the same folders from the same lockfile, and a missing one fails the image's build here.
# Used by scripts/image.sh (npm run image) and by the Dockerfile, so that both images hold the
# same files. Needs pnpm; `--list` only prints the input files (scripts/image.sh hashes them).
#
#   deploy/docker/stage-app.sh SRC OUT
#   deploy/docker/stage-app.sh SRC --list
set -euo pipefail
src="${1:?usage: stage-app.sh SRC OUT|--list}"
out="${2:?usage: stage-app.sh SRC OUT|--list}"
cd "$src"

packages=()
for pkg in libs/* services/*; do
  [ -f "$pkg/package.json" ] || continue
  [ "$pkg" = libs/testing ] && continue # test support only (a devDependency everywhere)
  [ -d "$pkg/dist" ] || { echo "ganglion: $pkg/dist is missing: build first (npm run build)" >&2; exit 1; }
  packages+=("$pkg")
done
[ -f dist/bundle/sensor.js ] || { echo "ganglion: dist/bundle is missing: build first (npm run build)" >&2; exit 1; }
app_files() {
  printf '%s\n' package.json pnpm-lock.yaml
  find patches -type f
  find dist/bundle -type f ! -name .inputs
  for pkg in "${packages[@]}"; do
    echo "$pkg/package.json"
    [ "$pkg" = libs/telemetry ] || continue
    find "$pkg/dist" -type f \( -name '*.js' -o -name '*.js.map' -o -name '*.json' -o -name '*.mjs' -o -name '*.cjs' \)
  done
}
if [ "$out" = --list ]; then
  app_files
  exit 0
fi

rm -rf "$out"
mkdir -p "$out/app" "$out/usr/local/bin"
app_files | tar -cf - -T - | tar -xf - -C "$out/app"
printf 'packages:\n  - libs/*\n  - services/*\n' >"$out/app/pnpm-workspace.yaml"
# Production dependencies only, from the pnpm store (the workspace install filled it); copied, not
# hard-linked, so that the tree can be moved into an image.
(cd "$out/app" && CI=1 pnpm install --prod --frozen-lockfile --prefer-offline --ignore-scripts \
  --config.package-import-method=copy --reporter=silent) >&2
# What a running service never reads.
find "$out/app/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
  -o -name '*.map' -o -name '*.md' -o -name '*.markdown' -o -name '*.ts' -o -name 'tsconfig*.json' \) -delete
# Every path the bundle imports from node_modules is there.
missing="$(cd "$out/app/dist/bundle" && { grep -oh '"\.\./\.\./[^"]*"' ./*.js || true; } | tr -d '"' | sort -u |
  while read -r path; do [ -e "$path" ] || echo "$path"; done)"
[ -z "$missing" ] || { echo "ganglion: dist/bundle imports what the production install lacks:" >&2; echo "$missing" >&2; exit 1; }
install -m 0755 deploy/docker/entrypoint.sh "$out/usr/local/bin/ganglion-service"
