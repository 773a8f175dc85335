import { ConfigError, numberVar } from '@ganglion/nest';

/** Kubernetes-mode settings, parsed once from the environment. */
export interface KubernetesSettings {
  /** Kubeconfig file (`GANGLION_KUBECONFIG`); in-cluster or `$KUBECONFIG` when unset. */
  kubeconfig: string | undefined;
  /** Namespaced install (`GANGLION_NAMESPACE`): watch only this namespace. Unset: cluster-wide. */
  namespace: string | undefined;
  leaderElection: boolean;
  /** Lease namespace (`GANGLION_LEASE_NAMESPACE`, else `POD_NAMESPACE`, else the watched namespace, else `default`). */
  leaseNamespace: string;
  leaseName: string;
  leaseDurationSeconds: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** `GANGLION_INGRESS_SELECTOR` (`k=v,k=v`): labels of the ingress pods. */
  ingressSelector: Record<string, string>;
  /** `GANGLION_INGRESS_NAMESPACE`: where the ingress pods run when not in each resource's namespace. */
  ingressNamespace: string | undefined;
  resyncMs: number;
  /** `GANGLION_LABEL_SELECTOR`: manage only matching objects (sharding, or coexisting installs). */
  labelSelector: string | undefined;
}

export function parseSelector(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9._/-]+)=([A-Za-z0-9._-]*)$/.exec(part);
    if (!m) throw new ConfigError(`GANGLION_INGRESS_SELECTOR: "${part}" is not label=value`);
    out[m[1]!] = m[2]!;
  }
  if (Object.keys(out).length === 0) throw new ConfigError('GANGLION_INGRESS_SELECTOR must name at least one label=value');
  return out;
}

export function parseKubernetesSettings(env: Record<string, string | undefined>): KubernetesSettings {
  const namespace = env['GANGLION_NAMESPACE'] || undefined;
  const le = (env['GANGLION_LEADER_ELECTION'] ?? 'true').toLowerCase();
  if (!['true', 'false'].includes(le)) throw new ConfigError(`GANGLION_LEADER_ELECTION must be true or false, got "${le}"`);
  return {
    kubeconfig: env['GANGLION_KUBECONFIG'] || undefined,
    namespace,
    leaderElection: le === 'true',
    leaseNamespace: env['GANGLION_LEASE_NAMESPACE'] || env['POD_NAMESPACE'] || namespace || 'default',
    leaseName: env['GANGLION_LEASE_NAME'] || 'ganglion-reconciler',
    leaseDurationSeconds: numberVar(env, 'GANGLION_LEASE_DURATION_SECONDS', 15, 1, 600),
    renewDeadlineMs: numberVar(env, 'GANGLION_LEASE_RENEW_DEADLINE_SECONDS', 10, 1, 600) * 1000,
    retryPeriodMs: numberVar(env, 'GANGLION_LEASE_RETRY_PERIOD_SECONDS', 2, 0.1, 60) * 1000,
    ingressSelector: parseSelector(env['GANGLION_INGRESS_SELECTOR'] || 'app.kubernetes.io/name=ganglion-ingress-webhook'),
    ingressNamespace: env['GANGLION_INGRESS_NAMESPACE'] || undefined,
    resyncMs: numberVar(env, 'GANGLION_RESYNC_SECONDS', 300, 0, 86_400) * 1000,
    labelSelector: env['GANGLION_LABEL_SELECTOR'] || undefined,
  };
}
