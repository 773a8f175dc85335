/**
 * The argoproj.io/v1alpha1 resource model (field names and meanings as in Argo Events,
 * `pkg/apis/events/v1alpha1`). Only Kafka is offered as an EventBus implementation.
 */
export const API_VERSION = 'argoproj.io/v1alpha1';
export const KINDS = ['EventSource', 'Sensor', 'EventBus'] as const;
export type Kind = (typeof KINDS)[number];

interface ObjectMeta {
  name: string;
  namespace?: string;
  generation?: number;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface Resource<K extends Kind = Kind, S = unknown> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
}

/** Spec types generated from the schema in ./schema (see scripts/generate.sh). */
export type * from './generated/types.generated.js';
import type { EventBusSpec, EventSourceSpec, SensorSpec } from './generated/types.generated.js';

export type EventBus = Resource<'EventBus', EventBusSpec>;
export type EventSource = Resource<'EventSource', EventSourceSpec>;
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
export const SUPPORTED_EVENT_SOURCE_TYPES = [
  'webhook', 'github', 'gitlab', 'bitbucket', 'bitbucketserver', 'gerrit', 'slack', 'stripe', 'sns', 'storageGrid', 'calendar', 'file', 'resource',
] as const satisfies readonly EventSourceType[];
