import { Partitioners, type Consumer, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import type { Logger } from '@ganglion/telemetry';
import type { OutRecord } from './batching-producer.js';

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
}

interface LoopBase {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  logger: Logger;
  /** Start a new group at the topics' beginning instead of their end (default true: lose nothing). */
  fromBeginning?: boolean;
}

export interface TransactionalLoopOptions extends LoopBase {
  /** Stable per replica: a restarted replica fences its predecessor's open transaction. */
  transactionalId: string;
  /** Pure-ish processing of one batch: the records to produce for it. */
  handle: (batch: ConsumedBatch) => Promise<OutRecord[]> | OutRecord[];
}

/**
 * Exactly-once consume → process → produce (ARCHITECTURE.md §4): the batch is read with
 * read_committed isolation, its output records and the consumer offsets are committed in one
 * Kafka transaction. A crash before the commit aborts both; the batch is processed again.
 */
export class TransactionalLoop {
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  private joinedResolve!: () => void;
  /** Resolves when the consumer first joined its group. */
  readonly joined: Promise<void> = new Promise((r) => (this.joinedResolve = r));

  constructor(private readonly options: TransactionalLoopOptions) {}

  async start(): Promise<void> {
    const { kafka, groupId, topics, logger, transactionalId } = this.options;
    this.producer = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 30_000,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await this.producer.connect();
    this.consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 250, sessionTimeout: 15_000, heartbeatInterval: 1_000 });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => this.joinedResolve());
    await this.consumer.connect();
    await this.consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning ?? true });
    const producer = this.producer;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const out = await this.options.handle({ topic: batch.topic, partition: batch.partition, messages: batch.messages });
        const last = batch.messages[batch.messages.length - 1]!.offset;
        const txn = await producer.transaction();
        try {
          if (out.length > 0) {
            const byTopic = new Map<string, { key: string; value: Buffer | string | null; headers: Record<string, string> }[]>();
            for (const r of out) {
              let list = byTopic.get(r.topic);
              if (!list) byTopic.set(r.topic, (list = []));
              list.push({ key: r.key, value: r.value, headers: r.headers ?? {} });
            }
            await txn.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 });
          }
          await txn.sendOffsets({
            consumerGroupId: groupId,
            topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }],
          });
          await txn.commit();
        } catch (err) {
          logger.warn('transaction aborted; the batch will be processed again', { topic: batch.topic, partition: batch.partition, error: err });
          await txn.abort().catch(() => undefined);
          throw err;
        }
        resolveOffset(last);
        await heartbeat();
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
  }
}

export interface AtLeastOnceLoopOptions extends LoopBase {
  /**
   * Processes one message, in order within its partition. It may return a promise that settles
   * once the message's effects are durable (e.g. its outcome record acknowledged); the offset is
   * committed only after that.
   */
  handle: (message: KafkaMessage, topic: string, partition: number) => Promise<Promise<void> | void>;
}

/**
 * At-least-once consumption: messages are processed in order per partition and their offsets
 * committed once they and their durable effects completed (per batch), so a crash re-delivers
 * at most the messages in flight; the trigger's idempotency key makes a repeat harmless where
 * the target allows it.
 */
export class AtLeastOnceLoop {
  private consumer: Consumer | undefined;
  private joinedResolve!: () => void;
  readonly joined: Promise<void> = new Promise((r) => (this.joinedResolve = r));

  constructor(private readonly options: AtLeastOnceLoopOptions) {}

  async start(): Promise<void> {
    const { kafka, groupId, topics } = this.options;
    this.consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 250, sessionTimeout: 15_000, heartbeatInterval: 1_000 });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => this.joinedResolve());
    await this.consumer.connect();
    await this.consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning ?? true });
    const consumer = this.consumer;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        const durable: Promise<void>[] = [];
        let last: string | undefined;
        const commit = async (): Promise<void> => {
          if (last === undefined) return;
          await Promise.all(durable.splice(0));
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
        };
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break;
          const effect = (await this.options.handle(message, batch.topic, batch.partition)) as Promise<void> | undefined;
          if (effect) durable.push(effect);
          last = message.offset;
          // Advances the fetch position (kafkajs re-fetches unresolved messages).
          resolveOffset(message.offset);
          if (durable.length >= 200) await commit();
          await heartbeat();
        }
        await commit();
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
