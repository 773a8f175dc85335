/**
 * The argoproj.io/v1alpha1 resource model (field names and meanings as in Argo Events,
 * `pkg/apis/events/v1alpha1`). Only Kafka is offered as an EventBus implementation.
 */
export const API_VERSION = 'argoproj.io/v1alpha1';
export const KINDS = ['EventSource', 'Sensor', 'EventBus'] as const;
export type Kind = (typeof KINDS)[number];

export interface ObjectMeta {
  name: string;
  namespace?: string;
  generation?: number;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Resource<K extends Kind = Kind, S = unknown> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
}

/** Kubernetes `SecretKeySelector`. */
export interface SecretKeySelector {
  name: string;
  key: string;
  optional?: boolean;
}

// ---------------------------------------------------------------------------- EventBus

/** `spec.kafka` of an EventBus (Argo `KafkaBus`). */
export interface KafkaBus {
  /** Comma-separated brokers; Ganglion defaults to the installation's brokers. */
  url?: string;
  /** Event topic; defaults to `<namespace>-<eventbus name>`. */
  topic?: string;
  version?: string;
  tls?: Record<string, unknown>;
  sasl?: Record<string, unknown>;
  consumerGroup?: { groupName?: string; oldest?: boolean; rebalanceStrategy?: string };
  partitioner?: 'random' | 'hash' | 'roundrobin' | 'manual';
}

export interface EventBusSpec {
  kafka?: KafkaBus;
  nats?: unknown;
  jetstream?: unknown;
  jetstreamExotic?: unknown;
}
export type EventBus = Resource<'EventBus', EventBusSpec>;

// ---------------------------------------------------------------------------- EventSource

/** Argo `WebhookContext`, shared by the webhook-family sources. */
export interface WebhookContext {
  endpoint: string;
  method: string;
  /** A string in Argo's schema, e.g. `"12000"`. */
  port: string;
  url?: string;
  serverCertSecret?: SecretKeySelector;
  serverKeySecret?: SecretKeySelector;
  metadata?: Record<string, string>;
  authSecret?: SecretKeySelector;
  /** Bytes; default 1 048 576. */
  maxPayloadSize?: number;
}

export interface EventSourceFilter {
  expression: string;
}

export interface WebhookEventSource extends WebhookContext {
  filter?: EventSourceFilter;
}

export interface EventSourceSpec {
  eventBusName?: string;
  replicas?: number;
  template?: unknown;
  service?: unknown;
  webhook?: Record<string, WebhookEventSource>;
  [sourceType: string]: unknown;
}
export type EventSource = Resource<'EventSource', EventSourceSpec>;

// ---------------------------------------------------------------------------- Sensor

export interface EventDependency {
  name: string;
  eventSourceName: string;
  eventName: string;
  filters?: unknown;
  transform?: unknown;
  filtersLogicalOperator?: 'and' | 'or';
}

export interface TriggerParameterSource {
  dependencyName: string;
  contextKey?: string;
  contextTemplate?: string;
  dataKey?: string;
  dataTemplate?: string;
  value?: string;
  useRawData?: boolean;
}

export interface TriggerParameter {
  src: TriggerParameterSource;
  dest: string;
  operation?: 'overwrite' | 'append' | 'prepend';
}

export interface LogTrigger {
  intervalSeconds?: number;
}

export interface HTTPTrigger {
  url: string;
  method?: string;
  payload?: TriggerParameter[];
  parameters?: TriggerParameter[];
  headers?: Record<string, string>;
  /** Seconds; default 60. */
  timeout?: number;
  [field: string]: unknown;
}

export interface TriggerTemplate {
  name: string;
  conditions?: string;
  log?: LogTrigger;
  http?: HTTPTrigger;
  [triggerType: string]: unknown;
}

export interface Trigger {
  template: TriggerTemplate;
  parameters?: TriggerParameter[];
  policy?: unknown;
  retryStrategy?: unknown;
  rateLimit?: unknown;
  atLeastOnce?: boolean;
  dlqTrigger?: Trigger;
}

export interface SensorSpec {
  eventBusName?: string;
  replicas?: number;
  template?: unknown;
  dependencies: EventDependency[];
  triggers: Trigger[];
  [field: string]: unknown;
}
export type Sensor = Resource<'Sensor', SensorSpec>;

export type AnyResource = EventBus | EventSource | Sensor;

/** Resource types known to Argo Events; the runtime of some arrives in later releases. */
export const EVENT_SOURCE_TYPES = [
  'amqp', 'azureEventsHub', 'azureQueueStorage', 'azureServiceBus', 'bitbucket', 'bitbucketserver',
  'calendar', 'emitter', 'file', 'generic', 'gerrit', 'github', 'gitlab', 'hdfs', 'kafka', 'minio',
  'mns', 'mqtt', 'nats', 'nsq', 'pubSub', 'pulsar', 'redis', 'redisStream', 'resource', 'sftp',
  'slack', 'sns', 'sqs', 'storageGrid', 'stripe', 'webhook',
] as const;
export type EventSourceType = (typeof EVENT_SOURCE_TYPES)[number];

export const TRIGGER_TYPES = [
  'k8s', 'argoWorkflow', 'http', 'awsLambda', 'kafka', 'nats', 'pulsar', 'slack', 'email',
  'openWhisk', 'azureEventHubs', 'azureServiceBus', 'log', 'custom',
] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

/** Source types whose ingress service exists in this release. */
export const SUPPORTED_EVENT_SOURCE_TYPES = ['webhook'] as const satisfies readonly EventSourceType[];
/** Trigger types the trigger service executes in this release. */
export const SUPPORTED_TRIGGER_TYPES = ['log', 'http'] as const satisfies readonly TriggerType[];
