import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '@ganglion/telemetry';

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
}

export interface LoopBase {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  logger: Logger;
  /** Start a new group at the topics' beginning instead of their end (default true: lose nothing). */
  fromBeginning?: boolean;
}

export interface AtLeastOnceLoopOptions extends LoopBase {
  /**
   * Processes one message, in order within its partition. It may return a promise that settles
   * once the message's effects are durable (e.g. its outcome record acknowledged); the offset is
   * committed only after that.
   */
  handle: (message: KafkaMessage, topic: string, partition: number) => Promise<Promise<void> | void>;
  /** Partitions processed concurrently (default 4); order is kept within each partition. */
  concurrency?: number;
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
      partitionsConsumedConcurrently: this.options.concurrency ?? 4,
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
