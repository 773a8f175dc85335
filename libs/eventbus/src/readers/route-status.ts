import type { ITopicConfig, Kafka } from 'kafkajs';
import type { Logger } from '@ganglion/telemetry';
import { processMetrics } from '@ganglion/telemetry';
import { BatchingProducer } from '../producer/batching-producer.js';
import { resourcesTopicConfig } from '../client/topics.js';
import { TopicReader } from './topic-reader.js';

/**
 * The data plane's report back to the control plane (docs/eventbus.md, "The route status
 * topic"): a push ingress that does not serve a configured route (its authenticating Secret is
 * missing or empty, or the route cannot be built) says so on the compacted topic
 * `<resources topic>-status`, keyed `<namespace>/<eventsource>/<type>/<event>`; the reconciler
 * folds the records into the EventSource's `RoutesServed` condition. A served route is a
 * tombstone, so the topic holds only the routes not served now.
 */
interface RouteRefusal {
  namespace: string;
  eventSource: string;
  /** The source type (`webhook`, `github`, ...). */
  type: string;
  /** The event name (the key under the type in the spec). */
  event: string;
  /** `SecretMissing`, `SecretEmpty` or `RouteInvalid`. */
  reason: string;
  message: string;
}

/** One route as the ingress last evaluated it: `refusal` unset when it is served. */
export interface RouteState {
  namespace: string;
  eventSource: string;
  type: string;
  event: string;
  refusal?: { reason: string; message: string };
}

/** The route status topic of an installation's resources topic. */
export function routeStatusTopic(resourcesTopic: string): string {
  return `${resourcesTopic}-status`;
}

/** Compacted, one partition, replicated as the resources topic. */
export function routeStatusTopicConfig(
  resourcesTopic: string,
  replicationFactor: number,
  minInsyncReplicas = 0,
): ITopicConfig {
  return resourcesTopicConfig(
    routeStatusTopic(resourcesTopic),
    replicationFactor,
    minInsyncReplicas,
  );
}

const keyOf = (r: { namespace: string; eventSource: string; type: string; event: string }) =>
  `${r.namespace}/${r.eventSource}/${r.type}/${r.event}`;

/**
 * The ingress side: given every route of its type after each evaluation, writes what changed
 * since its previous report (the first report writes every route: a replica restarted after a
 * Secret was fixed clears the refusal it or another replica wrote). A route that is gone gets a
 * tombstone. Several replicas write the same values; the latest wins, and they agree once they
 * have read the same Secret.
 */
export class RouteStatusReporter {
  private readonly producer: BatchingProducer;
  private last: Map<string, string | null> | undefined;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    logger: Logger,
  ) {
    this.producer = new BatchingProducer(kafka, {
      logger,
      onBatch: processMetrics().batchObserver('resources'),
    });
  }

  async report(routes: readonly RouteState[]): Promise<void> {
    const next = new Map<string, string | null>();
    for (const r of routes) {
      const value: RouteRefusal | null = r.refusal
        ? {
            namespace: r.namespace,
            eventSource: r.eventSource,
            type: r.type,
            event: r.event,
            ...r.refusal,
          }
        : null;
      next.set(keyOf(r), value ? JSON.stringify(value) : null);
    }
    const writes: { key: string; value: string | null }[] = [];
    for (const [key, value] of next)
      if (!this.last || !this.last.has(key) || this.last.get(key) !== value)
        writes.push({ key, value });
    for (const key of this.last?.keys() ?? [])
      if (!next.has(key)) writes.push({ key, value: null });
    await Promise.all(writes.map((w) => this.producer.send({ topic: this.topic, ...w })));
    this.last = next;
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}

/**
 * The reconciler side: a replica of the route status topic (read from the beginning), with the
 * refused routes of each EventSource and a listener called with `<namespace>/<name>` when they
 * change.
 */
export class RouteStatusView {
  private readonly refusals = new Map<string, RouteRefusal>();
  private readonly listeners = new Set<(namespace: string, name: string) => void>();
  private readonly reader: TopicReader;

  constructor(kafka: Kafka, topic: string, logger: Logger) {
    this.reader = new TopicReader({
      kafka,
      topics: [topic],
      logger,
      // Under every service's `ganglion-resources-` prefixed group ACL (docs/deployment.md).
      groupPrefix: 'ganglion-resources-status',
      onRecord: (_t, _p, m) => {
        const key = m.key?.toString('utf8') ?? '';
        const [namespace, name] = key.split('/');
        if (!namespace || !name) return;
        let value: RouteRefusal | undefined;
        if (m.value && m.value.length > 0) {
          try {
            value = JSON.parse(m.value.toString('utf8')) as RouteRefusal;
          } catch (err) {
            logger.warn('ignoring an unparsable route status record', { key, error: err });
            return;
          }
          if (value.namespace !== namespace || value.eventSource !== name) {
            logger.warn('ignoring a route status record whose key does not match it', { key });
            return;
          }
        }
        if (value) this.refusals.set(key, value);
        else if (!this.refusals.delete(key)) return;
        for (const l of this.listeners) l(namespace, name);
      },
    });
  }

  start(): Promise<void> {
    return this.reader.start();
  }

  /** The routes of an EventSource that no ingress serves now, by type and event name. */
  refused(namespace: string, name: string): RouteRefusal[] {
    const prefix = `${namespace}/${name}/`;
    return [...this.refusals]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, v]) => v);
  }

  onChange(listener: (namespace: string, name: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): Promise<void> {
    return this.reader.stop();
  }
}
