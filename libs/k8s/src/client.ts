import { ApiException, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

/**
 * Loads the client configuration: the given kubeconfig file, else in-cluster (service account
 * token) when running in a pod, else `$KUBECONFIG`/`~/.kube/config`.
 */
export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  return kc;
}

export const isApiError = (err: unknown, code?: number): err is ApiException<unknown> =>
  err instanceof ApiException && (code === undefined || err.code === code);

/** Server-side merge patch (`application/merge-patch+json`) options for a client-node call. */
export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** A custom resource type (`group/version`, plural). */
export interface CustomResourceType {
  group: string;
  version: string;
  plural: string;
}

/**
 * Writes `status` through the status subresource with a merge patch guarded by the object's
 * resourceVersion (a stale write fails with 409 and the key is reconciled again).
 */
export async function patchStatus(
  api: CustomObjectsApi,
  type: CustomResourceType,
  namespace: string,
  name: string,
  resourceVersion: string | undefined,
  status: unknown,
): Promise<void> {
  await api.patchNamespacedCustomObjectStatus(
    { ...type, namespace, name, body: { metadata: resourceVersion ? { resourceVersion } : {}, status } },
    MERGE_PATCH,
  );
}

/** Sets `metadata.finalizers` (merge patch, guarded by resourceVersion). */
export async function patchFinalizers(
  api: CustomObjectsApi,
  type: CustomResourceType,
  namespace: string,
  name: string,
  resourceVersion: string | undefined,
  finalizers: string[],
): Promise<void> {
  await api.patchNamespacedCustomObject(
    { ...type, namespace, name, body: { metadata: { finalizers, ...(resourceVersion ? { resourceVersion } : {}) } } },
    MERGE_PATCH,
  );
}

/** A one-line description of an error, with the API server's Status message for API errors. */
export function describeError(err: unknown): string {
  if (err instanceof ApiException) {
    let message: string | undefined;
    try {
      const body = typeof err.body === 'string' ? (JSON.parse(err.body) as { message?: string }) : (err.body as { message?: string } | undefined);
      message = body?.message;
    } catch {
      // not a Status object
    }
    return `HTTP ${err.code}${message ? `: ${message}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}
