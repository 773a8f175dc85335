import { boolVar, intVar, stringVar, urlVar } from '@ganglion/nest';
import type { TriggerSettings } from '@ganglion/triggers';

/** The trigger stage's settings from the environment, parsed once at start-up; a bad value is a ConfigError naming the variable. */
export function parseTriggerConfig(env: Record<string, string | undefined>): TriggerSettings {
  return {
    concurrencyPerTrigger: intVar(env, 'GANGLION_TRIGGER_CONCURRENCY', 32, 1, 1024),
    maxBuffered: intVar(env, 'GANGLION_TRIGGER_MAX_BUFFERED', 10_000, 1, 1_000_000),
    maxBufferedPerTrigger: intVar(
      env,
      'GANGLION_TRIGGER_MAX_BUFFERED_PER_TRIGGER',
      1_000,
      1,
      1_000_000,
    ),
    slackApiUrl: urlVar(env, 'GANGLION_SLACK_API_URL'),
    lambdaEndpoint: urlVar(env, 'GANGLION_AWS_LAMBDA_ENDPOINT'),
    kubeconfig: stringVar(env, 'GANGLION_KUBECONFIG'),
    argoServerUrl: urlVar(env, 'GANGLION_ARGO_SERVER_URL'),
    argoServerToken: stringVar(env, 'GANGLION_ARGO_SERVER_TOKEN'),
    argoServerInsecure: boolVar(env, 'GANGLION_ARGO_SERVER_INSECURE', false),
    impersonate: boolVar(env, 'GANGLION_TRIGGER_IMPERSONATE', false),
  };
}
