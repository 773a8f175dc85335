import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { DeadLetterRecord } from '@ganglion/core';
import {
  AtomicWriter,
  attemptsTopicConfig,
  BARRIER_KEY,
  ChangelogMirror,
  ensureTopics,
  type BusClients,
  type BusProducers,
  type BusTopics,
} from '@ganglion/eventbus';
import type { Logger } from '@ganglion/telemetry';
import type {
  ActionEnvelope,
  ActionOutcome,
  AttemptEntry,
  AttemptLog,
} from '../executor/trigger.executor.js';

/** An action with where it was read: its bus (topics, cluster) and the actions partition. */
export interface LoggedAction extends ActionEnvelope {
  bus: BusTopics & { cluster: string };
  source: { partition: number };
}

interface BusAttemptLogOptions {
  clients: Pick<BusClients, 'client' | 'producers'>;
  records: BusProducers;
  logger: Logger;
  /** Stable identity of the replica (the transactional id of its final writes). */
  instanceId?: string;
}

/** Entries written by this process, newest last, kept until the mirror has surely read them. */
const LOCAL_ENTRIES = 100_000;

/**
 * The attempt log on the bus (docs/eventbus.md, "Durable retries"): `<bus>-attempts`, compacted,
 * keyed by action id, in the partition of the action's record on `<bus>-actions` (so the
 * replica owning that partition owns its entries). An entry is written, acknowledged, before a
 * failed action sleeps until its next attempt; a retried action's last records (dead letter,
 * outcome) and its `done` entry are written in one transaction. Before consuming a cluster's
 * actions, the log reads its topics up to a barrier written after start-up: a restarted
 * trigger resumes every action where its attempts stood, and skips the re-delivery of an
 * action whose records were written.
 */
export class BusAttemptLog implements AttemptLog<LoggedAction> {
  private readonly mirrors = new Map<string, ChangelogMirror>();
  private readonly writers = new Map<string, AtomicWriter>();
  private readonly local = new Map<string, AttemptEntry>();

  constructor(private readonly options: BusAttemptLogOptions) {}

  /**
   * Before a cluster's actions are consumed: its attempt topics exist (as many partitions as
   * the actions topics) and are read up to now.
   */
  async open(cluster: string, buses: BusTopics[]): Promise<void> {
    const kafka = this.options.clients.client(cluster);
    const admin = kafka.admin();
    await admin.connect();
    const partitions = new Map<string, number>();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: buses.map((b) => b.actions) });
      for (const b of buses) {
        const meta = topics.find((t) => t.name === b.actions);
        const count = meta?.partitions.length ?? 1;
        const replication = meta?.partitions[0]?.replicas.length ?? 1;
        partitions.set(b.attempts, count);
        await ensureTopics(admin, [
          attemptsTopicConfig(b.attempts, { partitions: count, replicationFactor: replication }),
        ]);
      }
    } finally {
      await admin.disconnect();
    }
    await this.mirrors.get(cluster)?.stop();
    const mirror = new ChangelogMirror(kafka, [...partitions.keys()], this.options.logger);
    this.mirrors.set(cluster, mirror);
    await mirror.start();
    const producer = this.options.records.forCluster(cluster);
    const waits: Promise<void>[] = [];
    for (const [topic, count] of partitions)
      for (let partition = 0; partition < count; partition++) {
        const id = randomUUID();
        waits.push(mirror.barrier(topic, partition, id, 120_000));
        waits.push(producer.send({ topic, partition, key: BARRIER_KEY, value: id }));
      }
    await Promise.all(waits);
  }

  load({ action, bus, source }: LoggedAction): AttemptEntry | undefined {
    const local = this.local.get(action.actionId);
    if (local) return local;
    const value = this.mirrors
      .get(bus.cluster)
      ?.get(bus.attempts, source.partition, action.actionId);
    if (!value) return undefined;
    try {
      return JSON.parse(value.toString('utf8')) as AttemptEntry;
    } catch (err) {
      this.options.logger.warn('ignoring an unreadable attempt-log entry', {
        actionId: action.actionId,
        error: err,
      });
      return undefined;
    }
  }

  private remember(actionId: string, entry: AttemptEntry): void {
    this.local.delete(actionId);
    this.local.set(actionId, entry);
    if (this.local.size > LOCAL_ENTRIES) this.local.delete(this.local.keys().next().value!);
  }

  async save(envelope: LoggedAction, entry: AttemptEntry): Promise<void> {
    const { action, bus, source } = envelope;
    await this.options.records.forCluster(bus.cluster).send({
      topic: bus.attempts,
      partition: source.partition,
      key: action.actionId,
      value: JSON.stringify(entry),
    });
    this.remember(action.actionId, entry);
  }

  async finish(
    envelope: LoggedAction,
    outcome: ActionOutcome,
    deadLetter: DeadLetterRecord | undefined,
    entry: AttemptEntry,
  ): Promise<void> {
    const { action, bus, source } = envelope;
    const headers = { 'content-type': 'application/json' };
    await this.writer(bus.cluster).write([
      ...(deadLetter
        ? [
            {
              topic: bus.dlq,
              key: `${action.namespace}/${action.sensor}/${action.trigger.template.name}`,
              value: JSON.stringify(deadLetter),
              headers,
            },
          ]
        : []),
      { topic: bus.outcomes, key: action.actionId, value: JSON.stringify(outcome), headers },
      {
        topic: bus.attempts,
        partition: source.partition,
        key: action.actionId,
        value: JSON.stringify(entry),
      },
    ]);
    this.remember(action.actionId, entry);
  }

  private writer(cluster: string): AtomicWriter {
    let writer = this.writers.get(cluster);
    if (!writer) {
      const id = `ganglion-trigger-attempts-${this.options.instanceId ?? hostname()}-${cluster}`;
      writer = new AtomicWriter(this.options.clients.client(cluster), { transactionalId: id });
      this.writers.set(cluster, writer);
    }
    return writer;
  }

  /** Stops reading a cluster's attempt topics (its actions are no longer consumed). */
  async drop(cluster: string): Promise<void> {
    await this.mirrors.get(cluster)?.stop();
    this.mirrors.delete(cluster);
  }

  async close(): Promise<void> {
    for (const m of this.mirrors.values()) await m.stop();
    this.mirrors.clear();
    for (const w of this.writers.values()) await w.close();
    this.writers.clear();
  }
}
