import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from '@ganglion/telemetry';
import type { OutRecord } from '../producer/batching-producer.js';
import { ensureTopics } from '../client/topics.js';
import { PRIVATE_GROUP_TIMING, TRANSACTION_RETRY } from '../client/client.js';

const MARKER_KEY = '__owner__';

interface TransactionalStateOptions {
  /** Compacted topic holding the latest state per key. */
  stateTopic: string;
  /** Shared by every replica that may own the work: a new owner's producer fences the old one. */
  transactionalId: string;
  logger: Logger;
  /** Replication of the state topic (default 0: min(3, brokers), see `ensureTopics`). */
  replicationFactor?: number;
}

/**
 * Events and the state that produced them, written in one Kafka transaction, so that an owner
 * taking over (fencing the previous one by transactional id) reads exactly the state matching
 * what was published: nothing published is replayed, nothing replayed was published. Used by
 * sources that must run once (calendar catch-up instead of Argo's ConfigMap).
 */
export class TransactionalState {
  private producer: Producer | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: TransactionalStateOptions,
  ) {}

  /**
   * Fences any previous writer, then reads the committed state (latest value per key). A
   * marker written after fencing tells when the read has caught up.
   */
  async open(): Promise<Map<string, string>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        {
          topic: this.options.stateTopic,
          numPartitions: 1,
          replicationFactor: this.options.replicationFactor ?? 0,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ]);
    } finally {
      await admin.disconnect();
    }
    this.producer = this.kafka.producer({
      transactionalId: this.options.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { ...TRANSACTION_RETRY },
    });
    await this.producer.connect();
    const nonce = randomUUID();
    await this.commit([], [{ key: MARKER_KEY, value: nonce }]);
    const state = new Map<string, string>();
    const consumer = this.kafka.consumer({
      groupId: `ganglion-state-reader-${randomUUID()}`,
      readUncommitted: false,
      ...PRIVATE_GROUP_TIMING,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [this.options.stateTopic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ message }) => {
              const key = message.key?.toString('utf8') ?? '';
              const value = message.value?.toString('utf8');
              if (key === MARKER_KEY) {
                if (value === nonce) resolve();
                return;
              }
              if (value === undefined) state.delete(key);
              else state.set(key, value);
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return state;
  }

  /** Publishes `records` and writes `state` atomically; rejects (and aborts) otherwise. */
  commit(records: OutRecord[], state: { key: string; value: string | null }[]): Promise<void> {
    const run = async (): Promise<void> => {
      if (!this.producer) throw new Error('state is not open');
      const tx = await this.producer.transaction();
      try {
        const byTopic = new Map<
          string,
          { key: string; value: Buffer | string | null; headers?: Record<string, string> }[]
        >();
        for (const r of records) {
          const list = byTopic.get(r.topic) ?? [];
          list.push({ key: r.key, value: r.value, headers: r.headers ?? {} });
          byTopic.set(r.topic, list);
        }
        if (state.length)
          byTopic.set(this.options.stateTopic, [
            ...(byTopic.get(this.options.stateTopic) ?? []),
            ...state.map((s) => ({ key: s.key, value: s.value })),
          ]);
        await tx.sendBatch({
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
          acks: -1,
        });
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => undefined);
        throw err;
      }
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
  }
}
