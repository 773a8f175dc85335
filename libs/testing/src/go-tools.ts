import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MissingPrerequisiteError } from './kafka-broker.js';

/**
 * Command-line tools built from the Go module proxy (no binary downloads are possible here),
 * once per version, cached under `~/.cache/ganglion/<name>-<version>/`.
 */
const HELM_VERSION = 'v3.19.0';

function cacheRoot(): string {
  return (
    process.env['GANGLION_CACHE'] ??
    join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'ganglion')
  );
}

/** Builds `module@version` with `go install` into the cache (idempotent); returns the binary's path. */
function ensureGoTool(name: string, module: string, version: string): string {
  const dir = join(cacheRoot(), `${name}-${version}`);
  const bin = join(dir, name);
  if (existsSync(bin)) return bin;
  const go = spawnSync('go', ['version'], { stdio: 'ignore' });
  if (go.error || go.status !== 0)
    throw new MissingPrerequisiteError(
      `go is required to build ${name} ${version}: install Go 1.24+ (Debian: apt-get install golang)`,
    );
  const work = join(dir, 'bin.tmp');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const r = spawnSync('go', ['install', `${module}@${version}`], {
    env: { ...process.env, GOBIN: work, CGO_ENABLED: '0', GOFLAGS: '-trimpath' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`go install ${module}@${version} failed (exit ${r.status})`);
  renameSync(join(work, name), bin);
  rmSync(work, { recursive: true, force: true });
  return bin;
}

/** Helm 3, for rendering and linting the charts in tests. */
export function ensureHelm(): string {
  return ensureGoTool('helm', 'helm.sh/helm/v3/cmd/helm', HELM_VERSION);
}
