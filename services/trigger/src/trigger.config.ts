import { ConfigError, intVar } from '@ganglion/nest';
import type { TriggerSettings } from '@ganglion/triggers';

function urlVar(env: Record<string, string | undefined>, name: string): string | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  try {
    new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL, got "${raw}"`);
  }
  return raw;
}

function boolVar(env: Record<string, string | undefined>, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return false;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** The trigger stage's settings from the environment, parsed once at start-up; a bad value is a ConfigError naming the variable. */
export function parseTriggerConfig(env: Record<string, string | undefined>): TriggerSettings {
  return {
    concurrencyPerTrigger: intVar(env, 'GANGLION_TRIGGER_CONCURRENCY', 32, 1, 1024),
    maxBuffered: intVar(env, 'GANGLION_TRIGGER_MAX_BUFFERED', 10_000, 1, 1_000_000),
    maxBufferedPerTrigger: intVar(env, 'GANGLION_TRIGGER_MAX_BUFFERED_PER_TRIGGER', 1_000, 1, 1_000_000),
    slackApiUrl: urlVar(env, 'GANGLION_SLACK_API_URL'),
    lambdaEndpoint: urlVar(env, 'GANGLION_AWS_LAMBDA_ENDPOINT'),
    kubeconfig: env['GANGLION_KUBECONFIG'] || undefined,
    argoServerUrl: urlVar(env, 'GANGLION_ARGO_SERVER_URL'),
    argoServerToken: env['GANGLION_ARGO_SERVER_TOKEN'] || undefined,
    argoServerInsecure: boolVar(env, 'GANGLION_ARGO_SERVER_INSECURE'),
  };
}
