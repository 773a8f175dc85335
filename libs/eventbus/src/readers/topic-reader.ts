import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '@ganglion/telemetry';
import { restartCrashedConsumer } from '../loops/consumer-restart.js';
import { IDLE_FETCH_WAIT_MS, PRIVATE_GROUP_TIMING } from '../client/client.js';

interface TopicReaderOptions {
  kafka: Kafka;
  topics: string[];
  logger: Logger;
  /** Called for every committed record, in order per partition. */
  onRecord: (topic: string, partition: number, message: KafkaMessage) => void;
  /** Group id prefix; a fresh group per reader, so no offsets are shared or committed. */
  groupPrefix?: string;
  /** Longest a fetch waits at the broker for new data (ms, default 100). */
  maxWaitMs?: number;
}

/**
 * Reads whole topics from their beginning, read_committed, without committing offsets: every
 * reader sees everything (resource stores, changelog mirrors, tests, the benchmark).
 */
export class TopicReader {
  private consumer: Consumer | undefined;
  private readonly positions = new Map<string, bigint>();
  private stopped = false;
  private joinedResolve!: () => void;
  readonly joined: Promise<void> = new Promise((r) => (this.joinedResolve = r));

  constructor(private readonly options: TopicReaderOptions) {}

  /**
   * Starts reading. kafkajs restarts a consumer that crashed with a retriable error by itself;
   * after any other crash the reader starts a new consumer (after a second), so that a reader
   * others wait on (a changelog mirror's barrier) never stays down.
   */
  async start(): Promise<void> {
    const { kafka, topics, logger } = this.options;
    const consumer = kafka.consumer({
      groupId: `${this.options.groupPrefix ?? 'ganglion-reader'}-${randomUUID()}`,
      readUncommitted: false,
      maxWaitTimeInMs: this.options.maxWaitMs ?? 100,
      maxIdleWaitTimeInMs: IDLE_FETCH_WAIT_MS,
      ...PRIVATE_GROUP_TIMING,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => this.joinedResolve());
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart || this.stopped || this.consumer !== consumer) return;
      logger.error(
        'reader stopped after an error kafkajs does not restart from; starting a new one',
        { topics, error: e.payload.error },
      );
      restartCrashedConsumer(consumer, {
        logger,
        what: 'reader',
        fields: { topics },
        current: () => this.consumer,
        stopping: () => this.stopped,
        start: () => this.start(),
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        // After a crash the consumer restarts from the beginning (nothing is committed): skip
        // what was delivered already, so every record is seen once.
        const tp = `${batch.topic}:${batch.partition}`;
        const next = this.positions.get(tp) ?? -1n;
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset < next) continue;
          this.positions.set(tp, offset + 1n);
          this.options.onRecord(batch.topic, batch.partition, m);
        }
      },
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer?.disconnect().catch(() => undefined);
  }
}

/** Key of the barrier records a new partition owner writes into a changelog partition. */
export const BARRIER_KEY = '\u0000ganglion-barrier';

/**
 * A continuously updated copy of compacted changelog topics (latest value per key, per
 * partition). A new owner of a partition writes a barrier record into the changelog partition
 * (after fencing the previous owner) and waits until this mirror has read it back: everything
 * committed before is then in the mirror, and the partition's state can be taken from it.
 */
export class ChangelogMirror {
  private readonly data = new Map<string, Map<string, Buffer>>();
  private readonly waiters = new Map<string, () => void>();
  private readonly reader: TopicReader;

  constructor(kafka: Kafka, topics: string[], logger: Logger) {
    this.reader = new TopicReader({
      kafka,
      topics,
      logger,
      groupPrefix: 'ganglion-changelog',
      onRecord: (t, p, m) => this.apply(t, p, m),
    });
  }

  private apply(topic: string, partition: number, m: KafkaMessage): void {
    const key = m.key?.toString('utf8') ?? '';
    const tp = `${topic}:${partition}`;
    if (key === BARRIER_KEY) {
      const w = this.waiters.get(`${tp}:${m.value?.toString('utf8') ?? ''}`);
      w?.();
      return;
    }
    let part = this.data.get(tp);
    if (!part) this.data.set(tp, (part = new Map()));
    if (m.value === null || m.value.length === 0) part.delete(key);
    else part.set(key, m.value);
  }

  start(): Promise<void> {
    return this.reader.start();
  }

  /** Registers interest in a barrier before it is written; the promise resolves once read back. */
  barrier(topic: string, partition: number, id: string, timeoutMs = 60_000): Promise<void> {
    const k = `${topic}:${partition}:${id}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(k);
        reject(
          new Error(
            `changelog ${topic}[${partition}] was not read up to the barrier within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.waiters.set(k, () => {
        clearTimeout(timer);
        this.waiters.delete(k);
        resolve();
      });
    });
  }

  /** The latest value of one key in a partition (undefined: none, or a tombstone). */
  get(topic: string, partition: number, key: string): Buffer | undefined {
    return this.data.get(`${topic}:${partition}`)?.get(key);
  }

  /** A copy of the partition's latest values by key. */
  snapshot(topic: string, partition: number): Map<string, Buffer> {
    return new Map(this.data.get(`${topic}:${partition}`) ?? []);
  }

  stop(): Promise<void> {
    return this.reader.stop();
  }
}
