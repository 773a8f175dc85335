import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { MissingPrerequisiteError } from './kafka-broker.js';
import { REPO_ROOT } from './service-process.js';

/**
 * The Ganglion image, built locally by scripts/image.sh (`npm run image`) without any container
 * registry: a Debian root filesystem from Debian's packages (mmdebstrap) + Node from the npm
 * registry as a base image cached by key, and the app (every dist/ + production node_modules)
 * on top, rebuilt only when its content hash changes. Both live in the local containers storage
 * (podman/buildah, `localhost/...`).
 */
export interface GanglionImage {
  /** The app image, `localhost/ganglion:<content hash>` (also tagged `localhost/ganglion:latest`). */
  image: string;
  /** The base image it is built on, `localhost/ganglion-base:<key>`. */
  base: string;
  /** A docker-archive tar of `image` (for `ctr images import`), when asked for. */
  archive?: string;
}

const builds = new Map<string, Promise<GanglionImage>>();

function runImageScript(args: string[]): Promise<GanglionImage> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(REPO_ROOT, 'scripts', 'image.sh'), '--no-build', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, GANGLION_QUIET: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      // Progress of a cold build (minutes) is worth seeing as it happens.
      process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) {
        const reason =
          err
            .trim()
            .split('\n')
            .filter((l) => l.startsWith('ganglion:'))
            .pop() ?? `scripts/image.sh exited with ${code}`;
        reject(new MissingPrerequisiteError(`could not build the Ganglion image: ${reason}`));
        return;
      }
      const vars = Object.fromEntries(
        out
          .trim()
          .split('\n')
          .map((l) => l.split('=', 2) as [string, string]),
      );
      resolve({
        image: vars['GANGLION_IMAGE'] ?? '',
        base: vars['GANGLION_BASE_IMAGE']!,
        ...(vars['GANGLION_IMAGE_ARCHIVE'] ? { archive: vars['GANGLION_IMAGE_ARCHIVE'] } : {}),
      });
    });
  });
}

function once(key: string, args: string[]): Promise<GanglionImage> {
  let p = builds.get(key);
  if (!p) {
    p = runImageScript(args);
    // A failed build is retried by the next caller rather than remembered.
    p.catch(() => builds.delete(key));
    builds.set(key, p);
  }
  return p;
}

/**
 * Builds (or finds, cached by key) the base image: Debian bookworm essential + libstdc++6 +
 * ca-certificates + Node 24, user 10001. Resolves to its name. The packages it needs (buildah,
 * podman, runc, mmdebstrap) are installed with apt-get when missing; a machine without them
 * fails with {@link MissingPrerequisiteError}.
 */
export async function ensureGanglionBaseImage(): Promise<string> {
  return (await once('base', ['--base-only'])).base;
}

/**
 * Builds (or finds, by content hash) the Ganglion app image from the current build output (run
 * `tsc -b` first, as `npm test` does). With `archive`, also writes a docker-archive tar for
 * `ctr -n k8s.io images import`.
 */
export function ensureGanglionImage(options: { archive?: boolean } = {}): Promise<GanglionImage> {
  return options.archive ? once('archive', ['--archive']) : once('image', []);
}
