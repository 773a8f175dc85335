import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MissingPrerequisiteError } from './kafka-broker.js';
import { REPO_ROOT } from './service-process.js';

/**
 * Makes sure a Debian package's binary is installed (scripts/ensure-apt.sh: idempotent,
 * installs with apt-get when missing). Throws {@link MissingPrerequisiteError} with the
 * script's one-line reason when it cannot.
 */
export function ensureAptBinary(binary: string, pkg = binary): void {
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'ensure-apt.sh'), binary, pkg], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0)
    throw new MissingPrerequisiteError(r.stderr.trim() || `could not install ${pkg}`);
}
