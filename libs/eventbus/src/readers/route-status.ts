import type { ITopicConfig, Kafka } from 'kafkajs';
import type { Logger } from '@ganglion/telemetry';
import { processMetrics } from '@ganglion/telemetry';
import { BatchingProducer } from '../producer/batching-producer.js';
import { resourcesTopicConfig } from '../client/topics.js';
import { TopicReader } from './topic-reader.js';

/**
 * The data plane's report back to the control plane (docs/eventbus.md, "The route status
 * topic"): a push ingress that does not serve a configured route says so on the compacted topic
 * `<resources topic>-status`; the reconciler folds the records into the EventSource's
 * `RoutesServed` condition.
 * - A route no replica can serve (its authenticating Secret is missing or empty, or the route
 *   cannot be built) is keyed per route, `<namespace>/<eventsource>/<type>/<event>`: every
 *   replica writes the same value. A served route is a tombstone.
 * - A port one replica cannot bind is that replica's alone, keyed per replica,
 *   `<namespace>/<eventsource>/@<replica>/<type>/<event>` (a type never starts with `@`), so that
 *   a healthy replica's report does not clear it. The replica tombstones it when it binds, no
 *   longer wants the port, or stops; while it holds, it writes it again every `heartbeatMs`, and
 *   the reader drops one not written for `unboundTtlMs` (a replica that died).
 */
interface RouteRefusal {
  namespace: string;
  eventSource: string;
  /** The source type (`webhook`, `github`, ...). */
  type: string;
  /** The event name (the key under the type in the spec). */
  event: string;
  /** `SecretMissing`, `SecretEmpty`, `RouteInvalid`; or `PortInUse`, ... with `replica`. */
  reason: string;
  message: string;
  /** The replica that cannot bind the route's port (unset: no replica serves the route). */
  replica?: string;
}

/** One route as the ingress last evaluated it: served when neither `refusal` nor `unbound` is set. */
export interface RouteState {
  namespace: string;
  eventSource: string;
  type: string;
  event: string;
  /** Why no replica serves it (its Secret, its configuration): the same on every replica. */
  refusal?: { reason: string; message: string };
  /** Why this replica does not serve it: its port cannot be bound here (`PortInUse`, ...). */
  unbound?: { reason: string; message: string };
}

/** A refusal of one replica is written again this often while it holds (ms). */
const UNBOUND_HEARTBEAT_MS = 60_000;
/** The reader drops a replica's refusal not written again for this long (ms): three heartbeats. */
const UNBOUND_TTL_MS = 3 * UNBOUND_HEARTBEAT_MS;

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

type RouteId = { namespace: string; eventSource: string; type: string; event: string };
const keyOf = (r: RouteId) => `${r.namespace}/${r.eventSource}/${r.type}/${r.event}`;
const replicaKeyOf = (r: RouteId, replica: string) =>
  `${r.namespace}/${r.eventSource}/@${replica}/${r.type}/${r.event}`;

/**
 * The ingress side of one replica: given every route of its type after each evaluation, writes
 * what changed since its previous report (the first report writes every route: a replica
 * restarted after a Secret was fixed clears the refusal it or another replica wrote, and the
 * refusal its previous run left for a port). A route that is gone gets tombstones. Replicas
 * write the same route refusals, and agree once they have read the same Secret; a port refusal
 * is written under this replica's key, again every `heartbeatMs` while it holds, and
 * tombstoned by `close()`.
 */
export class RouteStatusReporter {
  private readonly producer: BatchingProducer;
  private readonly replica: string;
  private readonly heartbeatMs: number;
  private last: Map<string, string | null> | undefined;
  /** Reports, heartbeats and the final tombstones, one after another. */
  private queue: Promise<void> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly logger: Logger,
    options: { replica: string; heartbeatMs?: number },
  ) {
    this.replica = options.replica;
    this.heartbeatMs = options.heartbeatMs ?? UNBOUND_HEARTBEAT_MS;
    this.producer = new BatchingProducer(kafka, {
      logger,
      onBatch: processMetrics().batchObserver('resources'),
    });
  }

  report(routes: readonly RouteState[]): Promise<void> {
    return this.serialized(() => this.write(this.states(routes)));
  }

  /** The record value of every key of `routes` (null: a tombstone). */
  private states(routes: readonly RouteState[]): Map<string, string | null> {
    const next = new Map<string, string | null>();
    for (const r of routes) {
      const id = {
        namespace: r.namespace,
        eventSource: r.eventSource,
        type: r.type,
        event: r.event,
      };
      const refusal: RouteRefusal | null = r.refusal ? { ...id, ...r.refusal } : null;
      next.set(keyOf(r), refusal && JSON.stringify(refusal));
      const unbound: RouteRefusal | null = r.unbound
        ? {
            ...id,
            reason: r.unbound.reason,
            message: `${r.unbound.message} (replica ${this.replica})`,
            replica: this.replica,
          }
        : null;
      next.set(replicaKeyOf(r, this.replica), unbound && JSON.stringify(unbound));
    }
    return next;
  }

  /** Writes what differs from the last report (every key the first time); `next` becomes it. */
  private async write(next: Map<string, string | null>): Promise<void> {
    const writes: { key: string; value: string | null }[] = [];
    for (const [key, value] of next)
      if (!this.last || !this.last.has(key) || this.last.get(key) !== value)
        writes.push({ key, value });
    for (const key of this.last?.keys() ?? [])
      if (!next.has(key)) writes.push({ key, value: null });
    await this.send(writes);
    this.last = next;
    const holding = [...next].some(([k, v]) => v !== null && this.ownKey(k));
    if (holding && !this.heartbeat) {
      this.heartbeat = setInterval(() => void this.beat(), this.heartbeatMs);
      this.heartbeat.unref();
    } else if (!holding) this.stopHeartbeat();
  }

  /** Writes this replica's refusals again, so that the reader keeps them. */
  private beat(): Promise<void> {
    return this.serialized(() =>
      this.send(
        [...(this.last ?? [])].flatMap(([key, value]) =>
          value !== null && this.ownKey(key) ? [{ key, value }] : [],
        ),
      ),
    ).catch((err: unknown) =>
      this.logger.warn('writing the route status again failed', { error: err }),
    );
  }

  private ownKey(key: string): boolean {
    return key.split('/')[2] === `@${this.replica}`;
  }

  private async send(writes: { key: string; value: string | null }[]): Promise<void> {
    await Promise.all(writes.map((w) => this.producer.send({ topic: this.topic, ...w })));
  }

  private serialized(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** Tombstones this replica's refusals (it serves nothing any more), then closes. */
  async close(): Promise<void> {
    this.stopHeartbeat();
    await this.serialized(async () => {
      const own = [...(this.last ?? [])].filter(([k, v]) => v !== null && this.ownKey(k));
      await this.send(own.map(([key]) => ({ key, value: null })));
      this.last = undefined;
    }).catch((err: unknown) =>
      this.logger.warn('withdrawing the route status failed', { error: err }),
    );
    await this.producer.close();
  }
}

/**
 * The reconciler side: a replica of the route status topic (read from the beginning), with the
 * refused routes of each EventSource and a listener called with `<namespace>/<name>` when they
 * change. A replica's refusal not written again for `unboundTtlMs` after this view received it
 * is dropped (its replica died without withdrawing it); the age is this view's own clock, so
 * clocks of other hosts do not matter, and after a restart of the reconciler a dead replica's
 * refusal lasts one `unboundTtlMs` more.
 */
export class RouteStatusView {
  private readonly refusals = new Map<string, RouteRefusal>();
  private readonly expiries = new Map<string, NodeJS.Timeout>();
  private readonly listeners = new Set<(namespace: string, name: string) => void>();
  private readonly reader: TopicReader;

  constructor(
    kafka: Kafka,
    topic: string,
    logger: Logger,
    options: { unboundTtlMs?: number } = {},
  ) {
    const ttl = options.unboundTtlMs ?? UNBOUND_TTL_MS;
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
        clearTimeout(this.expiries.get(key));
        this.expiries.delete(key);
        if (value?.replica !== undefined) {
          const expiry = setTimeout(() => {
            this.expiries.delete(key);
            this.refusals.delete(key);
            this.changed(namespace, name);
          }, ttl);
          expiry.unref();
          this.expiries.set(key, expiry);
        }
        const before = this.refusals.get(key);
        if (value) {
          this.refusals.set(key, value);
          // A heartbeat: the same refusal again.
          if (before && JSON.stringify(before) === JSON.stringify(value)) return;
        } else if (!this.refusals.delete(key)) return;
        this.changed(namespace, name);
      },
    });
  }

  private changed(namespace: string, name: string): void {
    for (const l of this.listeners) l(namespace, name);
  }

  start(): Promise<void> {
    return this.reader.start();
  }

  /**
   * The routes of an EventSource that no ingress serves now, and those some replica cannot
   * serve (its port), by key.
   */
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
    for (const t of this.expiries.values()) clearTimeout(t);
    this.expiries.clear();
    return this.reader.stop();
  }
}
