import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

/** NSQ, built from its module at this version (nsqd and nsqlookupd). */
const NSQ_VERSION = 'v1.3.0';

/**
 * Builds the `main` packages `pkgs` of `module@version` inside a small wrapper module (the way
 * to build a module whose `go install m@v` the proxy refuses: `go install` also asks for the
 * module's version list, which the proxy here does not serve for every module), with the
 * module's own `replace` lines, into the cache (idempotent); returns the binaries' paths.
 */
function ensureGoWrapperBuild(
  name: string,
  module: string,
  version: string,
  pkgs: Record<string, string>,
  replaces: string[] = [],
): Record<string, string> {
  const dir = join(cacheRoot(), `${name}-${version}`);
  const bins = Object.fromEntries(Object.keys(pkgs).map((b) => [b, join(dir, b)]));
  if (Object.values(bins).every((b) => existsSync(b))) return bins;
  const go = spawnSync('go', ['version'], { stdio: 'ignore' });
  if (go.error || go.status !== 0)
    throw new MissingPrerequisiteError(
      `go is required to build ${name} ${version} from the Go module proxy: install Go 1.24+ (Debian: apt-get install golang)`,
    );
  const work = join(dir, `build.${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(
    join(work, 'go.mod'),
    [
      `module ganglion.local/${name}`,
      '',
      'go 1.24',
      '',
      `require ${module} ${version}`,
      ...replaces.map((r) => `replace ${r}`),
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(work, 'tools.go'),
    `//go:build tools\n\npackage tools\n\nimport (\n${Object.values(pkgs)
      .map((p) => `\t_ "${p}"\n`)
      .join('')})\n`,
  );
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
  const run = (args: string[]): void => {
    const r = spawnSync('go', args, { cwd: work, env, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0)
      throw new MissingPrerequisiteError(
        `building ${name} ${version} from the Go module proxy failed: go ${args.join(' ')} (exit ${r.status})`,
      );
  };
  run(['mod', 'tidy']);
  for (const [bin, pkg] of Object.entries(pkgs)) {
    run(['build', '-trimpath', '-o', join(work, bin), pkg]);
    renameSync(join(work, bin), bins[bin]!);
  }
  rmSync(work, { recursive: true, force: true });
  return bins;
}

/** NSQ's nsqd and nsqlookupd, for the nsq source's tests. */
export function ensureNsq(): { nsqd: string; nsqlookupd: string } {
  const bins = ensureGoWrapperBuild(
    'nsq',
    'github.com/nsqio/nsq',
    NSQ_VERSION,
    {
      nsqd: 'github.com/nsqio/nsq/apps/nsqd',
      nsqlookupd: 'github.com/nsqio/nsq/apps/nsqlookupd',
    },
    // nsq's own go.mod carries this replace (its main packages need the fork's svc.ErrStop).
    [
      'github.com/judwhite/go-svc => github.com/mreiferson/go-svc v1.2.2-0.20210815184239-7a96e00010f6',
    ],
  );
  return { nsqd: bins['nsqd']!, nsqlookupd: bins['nsqlookupd']! };
}
