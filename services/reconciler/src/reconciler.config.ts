import type { KubernetesSettings } from '@ganglion/control';
import {
  boolVar,
  enumVar,
  labelsVar,
  numberVar,
  requiredVar,
  stringVar,
  type ServiceConfig,
} from '@ganglion/nest';

/**
 * The reconciler's settings, parsed once from the environment. `GANGLION_RECONCILER_MODE`:
 * `directory` (the manifests under `GANGLION_RESOURCES_DIR`; the default when that is set) or
 * `kubernetes` (informers on the API server; the default otherwise).
 */
export type ReconcilerSettings =
  { mode: 'directory'; dir: string } | { mode: 'kubernetes'; kubernetes: KubernetesSettings };

export function parseReconcilerSettings(
  config: ServiceConfig,
  env: Record<string, string | undefined>,
): ReconcilerSettings {
  const mode = enumVar(
    env,
    'GANGLION_RECONCILER_MODE',
    ['directory', 'kubernetes'],
    stringVar(env, 'GANGLION_RESOURCES_DIR') ? 'directory' : 'kubernetes',
  );
  if (mode === 'directory')
    return {
      mode,
      dir: requiredVar(
        env,
        'GANGLION_RESOURCES_DIR',
        'the directory of EventSource/Sensor/EventBus manifests',
      ),
    };
  const namespace = stringVar(env, 'GANGLION_NAMESPACE');
  return {
    mode,
    kubernetes: {
      kubeconfig: config.kubeconfig,
      namespace,
      leaderElection: boolVar(env, 'GANGLION_LEADER_ELECTION', true),
      leaseNamespace:
        stringVar(env, 'GANGLION_LEASE_NAMESPACE') ??
        stringVar(env, 'POD_NAMESPACE') ??
        namespace ??
        'default',
      leaseName: stringVar(env, 'GANGLION_LEASE_NAME', 'ganglion-reconciler'),
      leaseDurationSeconds: numberVar(env, 'GANGLION_LEASE_DURATION_SECONDS', 15, 1, 600),
      renewDeadlineMs: numberVar(env, 'GANGLION_LEASE_RENEW_DEADLINE_SECONDS', 10, 1, 600) * 1000,
      retryPeriodMs: numberVar(env, 'GANGLION_LEASE_RETRY_PERIOD_SECONDS', 2, 0.1, 60) * 1000,
      ingressSelector: labelsVar(env, 'GANGLION_INGRESS_SELECTOR', {
        'app.kubernetes.io/name': 'ganglion-ingress-webhook',
      }),
      ingressNamespace: stringVar(env, 'GANGLION_INGRESS_NAMESPACE'),
      resyncMs: numberVar(env, 'GANGLION_RESYNC_SECONDS', 300, 0, 86_400) * 1000,
      labelSelector: stringVar(env, 'GANGLION_LABEL_SELECTOR'),
    },
  };
}
