import type {
  AWSLambdaTrigger,
  AzureEventHubsTrigger,
  AzureServiceBusTrigger,
  CustomTrigger,
  EmailTrigger,
  NATSTrigger,
  PulsarTrigger,
  TriggerType,
} from '@ganglion/api';
import type { Logger } from '@ganglion/telemetry';
import type { KubeConfig } from '@ganglion/k8s';
import {
  createArgoWorkflowTrigger,
  type ArgoServerOptions,
} from './argo-workflow/argo-workflow.trigger.js';
import { HttpClient } from './common/http.client.js';
import { KubeAccess } from './common/kube.objects.js';
import { createHttpTrigger } from './http/http.trigger.js';
import { createK8sTrigger } from './k8s/k8s.trigger.js';
import { createKafkaTrigger } from './kafka/kafka.trigger.js';
import { createLogTrigger } from './log/log.trigger.js';
import { createOpenWhiskTrigger } from './openwhisk/openwhisk.trigger.js';
import { createSlackTrigger } from './slack/slack.trigger.js';
import type { TriggerPlugin } from './trigger.js';

/** Settings of the plugins, parsed once by the service from its environment. */
export interface TriggerRegistryOptions {
  logger: Logger;
  /** Slack Web API base URL (`GANGLION_SLACK_API_URL`, default https://slack.com/api). */
  slackApiUrl?: string;
  /** Lambda endpoint override (`GANGLION_AWS_LAMBDA_ENDPOINT`). */
  lambdaEndpoint?: string;
  /** Verify SMTP servers' certificates (default true). */
  smtpRejectUnauthorized?: boolean;
  /**
   * Loads the Kubernetes client configuration for the k8s and argoWorkflow triggers, called on
   * their first use (the service passes `loadKubeConfig(GANGLION_KUBECONFIG)`: the file, else
   * in-cluster). Without it those triggers fail with a message saying so.
   */
  kubeConfig?: () => KubeConfig;
  /** Argo Server HTTP API for argoWorkflow `retry` and `resubmit --memoized` (`GANGLION_ARGO_SERVER_URL`). */
  argoServer?: ArgoServerOptions;
}

/** Trigger types this build executes against their targets (every type, now). */
export const EXECUTED_TRIGGER_TYPES = [
  'log',
  'http',
  'kafka',
  'nats',
  'slack',
  'email',
  'awsLambda',
  'openWhisk',
  'custom',
  'k8s',
  'argoWorkflow',
  'azureEventHubs',
  'azureServiceBus',
  'pulsar',
] as const satisfies readonly TriggerType[];

/**
 * A plugin whose module, and the client library it wraps (AWS, Azure, gRPC, NATS, Pulsar, SMTP: ~75 MiB
 * RSS together), is imported on its first action, not at start-up: a trigger service pays only
 * for the types its Sensors use (docs/benchmarks.md "Idle cost").
 */
function lazyTrigger<T>(
  type: TriggerType,
  load: () => Promise<TriggerPlugin<T>>,
): TriggerPlugin<T> {
  let plugin: Promise<TriggerPlugin<T>> | undefined;
  return {
    type,
    async execute(template, trigger, events, ctx) {
      plugin ??= load();
      return (await plugin).execute(template, trigger, events, ctx);
    },
    async close() {
      if (plugin) await (await plugin).close?.();
    },
  };
}

/**
 * The plugin of every trigger type, by template key. `satisfies Record<TriggerType, …>` makes a
 * type without a plugin a compile error. A plugin that cannot execute an action reports it as
 * an outcome, never a silent skip.
 */
export function createTriggerRegistry(options: TriggerRegistryOptions) {
  const http = new HttpClient();
  const kube = new KubeAccess(options.kubeConfig);
  return {
    log: createLogTrigger(),
    http: createHttpTrigger(http),
    kafka: createKafkaTrigger(options.logger),
    nats: lazyTrigger<NATSTrigger>('nats', async () =>
      (await import('./nats/nats.trigger.js')).createNatsTrigger(),
    ),
    slack: createSlackTrigger({
      client: http,
      ...(options.slackApiUrl ? { apiUrl: options.slackApiUrl } : {}),
    }),
    email: lazyTrigger<EmailTrigger>('email', async () =>
      (await import('./email/email.trigger.js')).createEmailTrigger({
        rejectUnauthorized: options.smtpRejectUnauthorized ?? true,
      }),
    ),
    awsLambda: lazyTrigger<AWSLambdaTrigger>('awsLambda', async () =>
      (await import('./aws-lambda/aws-lambda.trigger.js')).createAwsLambdaTrigger(
        options.lambdaEndpoint ? { endpoint: options.lambdaEndpoint } : {},
      ),
    ),
    openWhisk: createOpenWhiskTrigger(http),
    custom: lazyTrigger<CustomTrigger>('custom', async () =>
      (await import('./custom/custom.trigger.js')).createCustomTrigger(),
    ),
    k8s: createK8sTrigger({ kube, http }),
    argoWorkflow: createArgoWorkflowTrigger({
      kube,
      http,
      ...(options.argoServer ? { argoServer: options.argoServer } : {}),
    }),
    pulsar: lazyTrigger<PulsarTrigger>('pulsar', async () =>
      (await import('./pulsar/pulsar.trigger.js')).createPulsarTrigger(),
    ),
    azureEventHubs: lazyTrigger<AzureEventHubsTrigger>('azureEventHubs', async () =>
      (
        await import('./azure-event-hubs/azure-event-hubs.trigger.js')
      ).createAzureEventHubsTrigger(),
    ),
    azureServiceBus: lazyTrigger<AzureServiceBusTrigger>('azureServiceBus', async () =>
      (
        await import('./azure-service-bus/azure-service-bus.trigger.js')
      ).createAzureServiceBusTrigger(),
    ),
  } as const satisfies Record<TriggerType, TriggerPlugin<never>>;
}
export type TriggerRegistry = ReturnType<typeof createTriggerRegistry>;

/** Releases every plugin's clients. */
export async function closeTriggerRegistry(
  registry: Record<string, TriggerPlugin<never>>,
): Promise<void> {
  await Promise.all(Object.values(registry).map((p) => p.close?.().catch(() => undefined)));
}
