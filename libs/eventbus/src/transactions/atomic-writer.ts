import type { Kafka, Producer } from 'kafkajs';
import type { OutRecord } from '../producer/batching-producer.js';
import { TRANSACTION_RETRY } from '../client/client.js';

interface AtomicWriterOptions {
  /**
   * Stable across restarts of the same writer (the pod's name): a restarted process fences its
   * predecessor and aborts the transaction the predecessor left open, so read_committed readers
   * are not held at that transaction until it times out.
   */
  transactionalId: string;
  /** Longest a transaction may stay open before the broker aborts it (ms, default 10 000). */
  transactionTimeoutMs?: number;
}

/**
 * Writes groups of records, each group in one Kafka transaction: all of a group become visible
 * to read_committed readers, or none. Groups are written one after another. The transactions
 * of libs/eventbus without consumed offsets in them (the trigger's attempt log: a retried
 * action's dead letter, outcome and final attempt-log entry together).
 */
export class AtomicWriter {
  private producer: Promise<Producer> | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: AtomicWriterOptions,
  ) {}

  private connect(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({
        transactionalId: this.options.transactionalId,
        transactionTimeout: this.options.transactionTimeoutMs ?? 10_000,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        retry: { ...TRANSACTION_RETRY },
      });
      const connecting = producer.connect().then(() => producer);
      this.producer = connecting;
      connecting.catch(() => {
        if (this.producer === connecting) this.producer = undefined;
      });
    }
    return this.producer;
  }

  /** Writes `records` in one transaction; resolves once committed, rejects (and aborts) otherwise. */
  write(records: OutRecord[]): Promise<void> {
    const run = async (): Promise<void> => {
      const producer = await this.connect();
      const tx = await producer.transaction();
      try {
        await tx.sendBatch({
          topicMessages: records.map((r) => ({
            topic: r.topic,
            messages: [
              {
                key: r.key,
                value: r.value,
                headers: r.headers ?? {},
                ...(r.partition !== undefined ? { partition: r.partition } : {}),
              },
            ],
          })),
          acks: -1,
        });
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => undefined);
        // A producer in an unknown state (fenced, timed out) is replaced on the next write.
        const stale = this.producer;
        this.producer = undefined;
        await stale?.then((p) => p.disconnect()).catch(() => undefined);
        throw err;
      }
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.producer?.then((p) => p.disconnect()).catch(() => undefined);
    this.producer = undefined;
  }
}
