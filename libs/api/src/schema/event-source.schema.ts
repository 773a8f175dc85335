/**
 * EventSource spec (Argo `pkg/apis/events/v1alpha1/eventsource_types.go`): one map per source
 * type, keyed by event name. Every type Argo knows is described, including those whose Ganglion
 * runtime arrives later; each type's schema is its model in ../eventsources, listed in
 * ../eventsources/source.registry.ts.
 */
import { PodTemplate, ServiceSpec } from './common.schema.js';
import { int, map, obj, str, withDoc, type Node } from './dsl.schema.js';
import { sourceModels } from '../eventsources/source.registry.js';

const typeMaps: Record<string, Node> = Object.fromEntries(
  Object.entries(sourceModels).map(([type, model]) => [
    type,
    map(model.schema, `${type} sources by event name.`),
  ]),
);

/** Argo `EventSourceSpec`. */
export const EventSourceSpec = obj(
  'EventSourceSpec',
  {
    eventBusName: str('EventBus to publish to; "default" by default.'),
    template: withDoc(PodTemplate, 'Pod template of the EventSource deployment.'),
    service: withDoc(ServiceSpec, 'Service in front of the pods.'),
    replicas: int('Number of pods; 1 by default.', { minimum: 0 }),
    ...typeMaps,
  },
  { doc: 'Argo `EventSourceSpec`: one map per source type, keyed by event name.' },
);
