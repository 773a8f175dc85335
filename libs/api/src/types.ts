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

/** Spec types generated from the schema in ./schema (see scripts/generate.sh). */
export type * from './generated/types.generated.js';
import type { EventBusSpec, EventSourceSpec, SensorSpec } from './generated/types.generated.js';
import { sourceModels } from './eventsources/source.registry.js';
import { triggerModels } from './triggers/trigger.registry.js';

export type EventBus = Resource<'EventBus', EventBusSpec>;
export type EventSource = Resource<'EventSource', EventSourceSpec>;
export type Sensor = Resource<'Sensor', SensorSpec>;

export type AnyResource = EventBus | EventSource | Sensor;

/**
 * Source types known to Argo Events, by spec key: the keys of the model registry
 * (./eventsources/source.registry.ts), in its order. The runtime of some arrives in later releases.
 */
export const EVENT_SOURCE_TYPES = Object.keys(sourceModels) as readonly EventSourceType[];
export type EventSourceType = keyof typeof sourceModels;

/** Trigger types known to Argo Events, by template key: the keys of ./triggers/trigger.registry.ts, in its order. */
export const TRIGGER_TYPES = Object.keys(triggerModels) as readonly TriggerType[];
export type TriggerType = keyof typeof triggerModels;

/** Source types whose ingress service exists in this release. */
export const SUPPORTED_EVENT_SOURCE_TYPES = [
  'webhook', 'github', 'gitlab', 'bitbucket', 'bitbucketserver', 'gerrit', 'slack', 'stripe', 'sns', 'storageGrid', 'calendar', 'file', 'resource',
] as const satisfies readonly EventSourceType[];
