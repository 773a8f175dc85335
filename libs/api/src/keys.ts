import type { AnyResource, EventBus, Kind } from './types.js';

/** Namespace used when a manifest has none (local directory mode). */
const DEFAULT_NAMESPACE = 'default';
/** EventBus name used when a spec names none (Argo's default). */
export const DEFAULT_EVENTBUS = 'default';

export function namespaceOf(r: { metadata: { namespace?: string } }): string {
  return r.metadata.namespace || DEFAULT_NAMESPACE;
}

/** Key of a resource on the resources topic: `<kind>/<namespace>/<name>`. */
export function resourceKey(kind: Kind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export function keyOf(r: AnyResource): string {
  return resourceKey(r.kind, namespaceOf(r), r.metadata.name);
}

export function parseResourceKey(
  key: string,
): { kind: Kind; namespace: string; name: string } | undefined {
  const m = /^(EventSource|Sensor|EventBus)\/([^/]+)\/([^/]+)$/.exec(key);
  return m ? { kind: m[1] as Kind, namespace: m[2]!, name: m[3]! } : undefined;
}

/** The EventBus event topic: `spec.kafka.topic`, or `<namespace>-<eventbus name>` as in Argo. */
export function eventBusTopic(bus: EventBus): string {
  return bus.spec.kafka?.topic || `${namespaceOf(bus)}-${bus.metadata.name}`;
}
