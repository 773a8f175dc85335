import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretKeySelector } from '@ganglion/api';

/**
 * Resolves `SecretKeySelector` references where the data plane runs, so secret values never
 * travel through Kafka (ARCHITECTURE.md §2).
 */
export interface SecretResolver {
  resolve(namespace: string, selector: SecretKeySelector): Promise<string>;
}

export class SecretNotFoundError extends Error {
  constructor(namespace: string, selector: SecretKeySelector, where: string) {
    super(`secret ${namespace}/${selector.name} key "${selector.key}" not found (${where})`);
    this.name = 'SecretNotFoundError';
  }
}

/** Environment variable name for a secret key: `GANGLION_SECRET_<NAME>_<KEY>`, upper-cased, non-alphanumerics as `_`. */
export function secretEnvName(selector: SecretKeySelector): string {
  const clean = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return `GANGLION_SECRET_${clean(selector.name)}_${clean(selector.key)}`;
}

/**
 * Local (directory-mode) resolution: `<dir>/<namespace>/<name>/<key>`, then `<dir>/<name>/<key>`
 * (the layout Argo mounts at /argo-events/secrets/<name>/<key>), then the environment variable
 * {@link secretEnvName}. Values are read on each call, so rotated files take effect.
 */
export class LocalSecretResolver implements SecretResolver {
  constructor(
    private readonly dir: string | undefined,
    private readonly env: Record<string, string | undefined>,
  ) {}

  async resolve(namespace: string, selector: SecretKeySelector): Promise<string> {
    if (this.dir) {
      for (const path of [join(this.dir, namespace, selector.name, selector.key), join(this.dir, selector.name, selector.key)]) {
        try {
          return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
        } catch {
          // try the next location
        }
      }
    }
    const fromEnv = this.env[secretEnvName(selector)];
    if (fromEnv !== undefined) return fromEnv;
    throw new SecretNotFoundError(namespace, selector, `looked in ${this.dir ? `${this.dir} and ` : ''}$${secretEnvName(selector)}`);
  }
}
