import { createRequire } from 'node:module';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, type KubeRest } from './rest.js';

/**
 * An empty KubeConfig. @kubernetes/client-node (~70 MiB RSS once loaded) is required on first
 * use, not at start-up: a service that never reads a kubeconfig (local mode, Secrets from files)
 * never loads it (docs/benchmarks.md "Idle cost").
 */
export function newKubeConfig(): KubeConfig {
  const client = createRequire(import.meta.url)(
    '@kubernetes/client-node',
  ) as typeof import('@kubernetes/client-node');
  return new client.KubeConfig();
}

/**
 * Loads the client configuration: the given kubeconfig file, else in-cluster (service account
 * token) when running in a pod, else `$KUBECONFIG`/`~/.kube/config`. (@kubernetes/client-node
 * stays for this: kubeconfig files, the in-cluster service account and auth plugins; requests go
 * through {@link KubeRest}.)
 */
export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const kc = newKubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  return kc;
}

/** Whether `err` is an answer of the API server (with status `code` when given). */
export const isApiError = (err: unknown, code?: number): err is KubeApiError =>
  err instanceof KubeApiError && (code === undefined || err.code === code);

/** A custom resource type (`group/version`, plural). */
export interface CustomResourceType {
  group: string;
  version: string;
  plural: string;
}

const objectPath = (type: CustomResourceType, namespace: string, name: string): string =>
  `/apis/${type.group}/${type.version}/namespaces/${encodeURIComponent(namespace)}/${type.plural}/${encodeURIComponent(name)}`;

/**
 * Writes `status` through the status subresource with a merge patch guarded by the object's
 * resourceVersion (a stale write fails with 409 and the key is reconciled again).
 */
export async function patchStatus(
  rest: KubeRest,
  type: CustomResourceType,
  namespace: string,
  name: string,
  resourceVersion: string | undefined,
  status: unknown,
): Promise<void> {
  await rest.mergePatch(`${objectPath(type, namespace, name)}/status`, {
    metadata: resourceVersion ? { resourceVersion } : {},
    status,
  });
}

/** Sets `metadata.finalizers` (merge patch, guarded by resourceVersion). */
export async function patchFinalizers(
  rest: KubeRest,
  type: CustomResourceType,
  namespace: string,
  name: string,
  resourceVersion: string | undefined,
  finalizers: string[],
): Promise<void> {
  await rest.mergePatch(objectPath(type, namespace, name), {
    metadata: { finalizers, ...(resourceVersion ? { resourceVersion } : {}) },
  });
}

/** A one-line description of an error, with the API server's Status message for API errors. */
export function describeError(err: unknown): string {
  if (err instanceof KubeApiError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
