import { boolVar, intVar, stringVar, urlVar } from '@ganglion/nest';

/** Settings of the trigger service, parsed once from the environment at start-up. */
export interface TriggerServiceConfig {
  /** Concurrent actions per trigger without `atLeastOnce` (`GANGLION_TRIGGER_CONCURRENCY`, default 32; `atLeastOnce` triggers run one at a time, in order). */
  concurrencyPerTrigger: number;
  /** Actions admitted and not yet recorded before consumption waits (`GANGLION_TRIGGER_MAX_BUFFERED`, default 10000). */
  maxBuffered: number;
  /** The same bound per trigger (`GANGLION_TRIGGER_MAX_BUFFERED_PER_TRIGGER`, default 1000). */
  maxBufferedPerTrigger: number;
  /** Slack Web API base URL (`GANGLION_SLACK_API_URL`). */
  slackApiUrl: string | undefined;
  /** Lambda endpoint override (`GANGLION_AWS_LAMBDA_ENDPOINT`). */
  lambdaEndpoint: string | undefined;
  /**
   * Kubeconfig file for the k8s and argoWorkflow triggers (`GANGLION_KUBECONFIG`); unset: the
   * in-cluster service account, else `$KUBECONFIG`/`~/.kube/config` (loaded on first use).
   */
  kubeconfig: string | undefined;
  /** Argo Server base URL for argoWorkflow retry / resubmit --memoized (`GANGLION_ARGO_SERVER_URL`). */
  argoServerUrl: string | undefined;
  /** Bearer token for the Argo Server (`GANGLION_ARGO_SERVER_TOKEN`, e.g. from a Secret via env). */
  argoServerToken: string | undefined;
  /** Verify the Argo Server's certificate (`GANGLION_ARGO_SERVER_INSECURE=true` turns it off). */
  argoServerInsecure: boolean;
}

export function parseTriggerConfig(env: Record<string, string | undefined>): TriggerServiceConfig {
  return {
    concurrencyPerTrigger: intVar(env, 'GANGLION_TRIGGER_CONCURRENCY', 32, 1, 1024),
    maxBuffered: intVar(env, 'GANGLION_TRIGGER_MAX_BUFFERED', 10_000, 1, 1_000_000),
    maxBufferedPerTrigger: intVar(env, 'GANGLION_TRIGGER_MAX_BUFFERED_PER_TRIGGER', 1_000, 1, 1_000_000),
    slackApiUrl: urlVar(env, 'GANGLION_SLACK_API_URL'),
    lambdaEndpoint: urlVar(env, 'GANGLION_AWS_LAMBDA_ENDPOINT'),
    kubeconfig: stringVar(env, 'GANGLION_KUBECONFIG'),
    argoServerUrl: urlVar(env, 'GANGLION_ARGO_SERVER_URL'),
    argoServerToken: stringVar(env, 'GANGLION_ARGO_SERVER_TOKEN'),
    argoServerInsecure: boolVar(env, 'GANGLION_ARGO_SERVER_INSECURE', false),
  };
}
