import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MissingPrerequisiteError, REPO_ROOT } from '@ganglion/testing';

/**
 * The Ganglion image for the platform tests: `GANGLION_IMAGE` when set, else built (cached by
 * content) by scripts/image.sh from the current build. Returns `localhost/ganglion:<tag>`.
 */
export function ganglionImage(): string {
  const given = process.env['GANGLION_IMAGE'];
  if (given) return given;
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'image.sh'), '--no-build'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 1_800_000,
  });
  const image = /^GANGLION_IMAGE=(.+)$/m.exec(r.stdout ?? '')?.[1];
  if (r.status !== 0 || !image)
    throw new MissingPrerequisiteError(
      `could not build the Ganglion image (scripts/image.sh exited with ${r.status})`,
    );
  return image;
}
