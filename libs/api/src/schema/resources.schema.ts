/**
 * The three argoproj.io/v1alpha1 kinds with their CRD names (Argo `manifests/base/crds`).
 */
import { EventBusSpec } from './event-bus.schema.js';
import { EventSourceSpec } from './event-source.schema.js';
import { SensorSpec } from './sensor.schema.js';
import type { ObjectNode } from './dsl.schema.js';

export const API_GROUP = 'argoproj.io';
export const API_GROUP_VERSION = 'v1alpha1';

export interface ResourceKindSchema {
  kind: 'EventSource' | 'Sensor' | 'EventBus';
  plural: string;
  singular: string;
  shortNames: readonly string[];
  spec: ObjectNode;
  doc: string;
}

/** Every kind, in a stable order (generated files follow it). */
export const RESOURCE_SCHEMAS: readonly ResourceKindSchema[] = [
  {
    kind: 'EventBus',
    plural: 'eventbus',
    singular: 'eventbus',
    shortNames: ['eb'],
    spec: EventBusSpec,
    doc: 'An event bus: the Kafka topic events travel on.',
  },
  {
    kind: 'EventSource',
    plural: 'eventsources',
    singular: 'eventsource',
    shortNames: ['es'],
    spec: EventSourceSpec,
    doc: 'Turns external happenings into events on the bus.',
  },
  {
    kind: 'Sensor',
    plural: 'sensors',
    singular: 'sensor',
    shortNames: ['sn'],
    spec: SensorSpec,
    doc: 'Waits for events and runs triggers.',
  },
];
