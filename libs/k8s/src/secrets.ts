import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretKeySelector } from '@ganglion/api';
import { newKubeConfig } from './client.js';
import { isKubeError, KubeRest } from './rest.js';

/**
 * Resolves `SecretKeySelector` references where the data plane runs, so secret values never
 * travel through Kafka (docs/architecture.md §2).
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
      for (const path of [
        join(this.dir, namespace, selector.name, selector.key),
        join(this.dir, selector.name, selector.key),
      ]) {
        try {
          return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
        } catch {
          // try the next location
        }
      }
    }
    const fromEnv = this.env[secretEnvName(selector)];
    if (fromEnv !== undefined) return fromEnv;
    throw new SecretNotFoundError(
      namespace,
      selector,
      `looked in ${this.dir ? `${this.dir} and ` : ''}$${secretEnvName(selector)}`,
    );
  }
}

/**
 * Cluster resolution: reads the Secret through the Kubernetes API (`get` on `secrets` in the
 * resource's namespace: a namespaced, read-only Role is enough). Values are read on each call
 * unless `cacheMs` is set, so a rotated Secret takes effect.
 */
export class KubernetesSecretResolver implements SecretResolver {
  private readonly cache = new Map<string, { at: number; data: Record<string, string> }>();

  constructor(
    private readonly rest: KubeRest,
    private readonly cacheMs = 0,
  ) {}

  async resolve(namespace: string, selector: SecretKeySelector): Promise<string> {
    const id = `${namespace}/${selector.name}`;
    let entry = this.cache.get(id);
    if (!entry || Date.now() - entry.at > this.cacheMs) {
      let secret: { data?: Record<string, string>; stringData?: Record<string, string> };
      try {
        secret = await this.rest.request(
          'GET',
          `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(selector.name)}`,
        );
      } catch (err) {
        if (isKubeError(err, 404)) {
          if (selector.optional) return '';
          throw new SecretNotFoundError(namespace, selector, 'no such Secret');
        }
        throw err;
      }
      entry = {
        at: Date.now(),
        data: Object.fromEntries(
          Object.entries(secret.data ?? {}).map(([k, v]) => [
            k,
            Buffer.from(v, 'base64').toString('utf8'),
          ]),
        ),
      };
      for (const [k, v] of Object.entries(secret.stringData ?? {})) entry.data[k] = v;
      if (this.cacheMs > 0) this.cache.set(id, entry);
    }
    const value = entry.data[selector.key];
    if (value === undefined) {
      if (selector.optional) return '';
      throw new SecretNotFoundError(namespace, selector, `the Secret has no key "${selector.key}"`);
    }
    return value;
  }
}

/** Where secrets are resolved (the service's settings `GANGLION_SECRETS_SOURCE`, `GANGLION_SECRETS_DIR`, `GANGLION_KUBECONFIG`). */
export interface SecretSettings {
  secretsSource: 'kubernetes' | 'local';
  secretsDir: string | undefined;
  kubeconfig: string | undefined;
}

/**
 * The resolver for where the process runs: `kubernetes` (the Secret through the API, with the
 * kubeconfig file or the in-cluster config) or `local` (files under `secretsDir`, then the
 * environment variable {@link secretEnvName} of `env`).
 */
export function createSecretResolver(
  settings: SecretSettings,
  env: Record<string, string | undefined>,
): SecretResolver {
  if (settings.secretsSource === 'local') return new LocalSecretResolver(settings.secretsDir, env);
  const kc = newKubeConfig();
  if (settings.kubeconfig) kc.loadFromFile(settings.kubeconfig);
  else kc.loadFromCluster();
  return new KubernetesSecretResolver(new KubeRest(kc));
}
