import { createHash } from 'node:crypto';
import { namespaceOf, DEFAULT_EVENTBUS, type EventBus, type EventSource } from '@ganglion/api';
import { compileExpr, evaluateFilterExpression, type CompiledExpr } from '@ganglion/core';
import type { BusProducers } from '@ganglion/eventbus';
import type { SecretResolver } from '@ganglion/k8s';
import type { Logger } from '@ganglion/telemetry';
import type { ResourceView } from './source-host.js';

/** A source type that runs on exactly one replica at a time, started and stopped by ownership. */
export interface OwnedRunner {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface OwnedHost {
  store: ResourceView;
  producers: BusProducers;
  logger: Logger;
  /** Compacted state topic (per bus cluster) for sources that persist progress. */
  stateTopic: string;
  /** Transactional id prefix shared by all replicas of the service (fencing). */
  transactionalId: string;
  now?: () => number;
  /** Secret values (broker sources' TLS and credentials); as the push sources resolve them. */
  secrets?: SecretResolver;
  /** This replica's name (`GANGLION_INSTANCE_ID`; default: the host name). */
  replicaId?: string;
  /** Kubernetes client configuration file (`GANGLION_KUBECONFIG`); in-cluster or `$KUBECONFIG` when unset (resource). */
  kubeconfig?: string;
}

/** One configured event of an owned type, with what it needs to publish. */
export interface OwnedEvent<C> {
  /** `<ns>/<eventSource>:<event>`. */
  id: string;
  namespace: string;
  eventSource: string;
  eventName: string;
  config: C;
  bus: EventBus;
  /** Changes when anything that matters changes (config, bus). */
  fingerprint: string;
}

/** The events of `specKey` across all EventSources whose EventBus exists. */
export function ownedEvents<C>(
  store: ResourceView,
  specKey: string,
  logger: Logger,
): OwnedEvent<C>[] {
  const out: OwnedEvent<C>[] = [];
  for (const es of store.list<EventSource>('EventSource')) {
    const events = (es.spec as Record<string, unknown>)[specKey] as Record<string, C> | undefined;
    if (!events) continue;
    const ns = namespaceOf(es);
    const busName = es.spec.eventBusName || DEFAULT_EVENTBUS;
    const bus = store.get<EventBus>('EventBus', ns, busName);
    if (!bus?.spec.kafka) {
      logger.warn('EventSource not served: its EventBus does not exist', {
        eventSource: `${ns}/${es.metadata.name}`,
        eventBus: `${ns}/${busName}`,
      });
      continue;
    }
    for (const [eventName, config] of Object.entries(events)) {
      const fingerprint = createHash('sha256')
        .update(JSON.stringify([config, bus.spec]))
        .digest('hex');
      out.push({
        id: `${ns}/${es.metadata.name}:${eventName}`,
        namespace: ns,
        eventSource: es.metadata.name,
        eventName,
        config,
        bus,
        fingerprint,
      });
    }
  }
  return out;
}

/** An EventSource `filter.expression` as a predicate (errors and non-bool results drop the event). */
export function eventFilter(
  expression: string | undefined,
  logger: Logger,
): (data: unknown) => boolean {
  if (!expression) return () => true;
  const compiled: CompiledExpr = compileExpr(expression);
  return (data) => {
    try {
      return evaluateFilterExpression(compiled, data);
    } catch (err) {
      logger.warn('filter expression failed; event dropped', { error: err });
      return false;
    }
  };
}

/** Short stable hash of a string (topic and transactional-id suffixes). */
export function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 12);
}
