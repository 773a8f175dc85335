import { Kafka, logLevel, type Consumer, type SASLOptions } from 'kafkajs';
import type { ExternalKafkaSettings } from '../producer/external-producer.js';

/** One record read from a Kafka cluster by {@link ExternalConsumer}. */
export interface ExternalMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Record timestamp, epoch ms. */
  timestamp: number;
  headers: Record<string, string>;
}

interface ExternalConsumerSettings extends ExternalKafkaSettings {
  groupId: string;
  topic: string;
  /** A new group starts at the topic's beginning (Argo `consumerGroup.oldest`), else at its end. */
  fromBeginning: boolean;
  /** Only this partition is processed (Argo's `partition` without a consumer group). */
  partition?: number;
  /** Receives each record in order per partition; call `ack` once it is safely handled. */
  onMessage: (message: ExternalMessage, ack: () => void) => void;
  /** The consumer stopped for good (the caller reconnects). */
  onCrash: (error: unknown) => void;
}

/** How often acknowledged offsets are committed (ms). */
const COMMIT_INTERVAL_MS = 500;

/**
 * A consumer-group reader of a topic on any Kafka cluster (the kafka event source), with
 * offsets committed only for acknowledged records: `ack` of a record marks it, and the marked
 * positions are committed every 500 ms and on stop. Nothing is auto-committed, so a record
 * handed over but not acknowledged before a crash or a rebalance is read again. `pause`/`resume`
 * stop and restart fetching (backpressure). Kept behind libs/eventbus so only this library
 * imports the Kafka client.
 */
export class ExternalConsumer {
  private readonly consumer: Consumer;
  /** Next offset to commit per partition (acknowledged, not yet committed). */
  private readonly marked = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  private stopping = false;

  constructor(private readonly settings: ExternalConsumerSettings) {
    const log = settings.logger.child({ component: 'kafka-source' });
    const kafka = new Kafka({
      clientId: settings.clientId,
      brokers: settings.brokers,
      connectionTimeout: 3000,
      requestTimeout: 10_000,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 },
      ...(settings.tls ? { ssl: settings.tls } : {}),
      ...(settings.sasl ? { sasl: settings.sasl as SASLOptions } : {}),
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ log: entry }) => {
          const { message, ...rest } = entry;
          log.debug(String(message), rest);
        },
    });
    this.consumer = kafka.consumer({
      groupId: settings.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 10_000,
      rebalanceTimeout: 20_000,
      heartbeatInterval: 1000,
      // Also how long kafkajs sleeps while every partition is paused (backpressure): the
      // default 5 s would stall the source after each pause.
      maxWaitTimeInMs: 100,
    });
  }

  async start(): Promise<void> {
    const { consumer, settings } = this;
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart && !this.stopping) settings.onCrash(e.payload.error);
    });
    consumer.on(consumer.events.REBALANCING, () => void this.commit());
    if (settings.partition !== undefined)
      // Only the configured partition is read: the member assigned another one idles on it.
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        const others = (e.payload.memberAssignment[settings.topic] ?? []).filter(
          (p) => p !== settings.partition,
        );
        if (others.length) consumer.pause([{ topic: settings.topic, partitions: others }]);
      });
    await consumer.connect();
    await consumer.subscribe({ topics: [settings.topic], fromBeginning: settings.fromBeginning });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 4,
      eachMessage: async ({ topic, partition, message }) => {
        if (settings.partition !== undefined && partition !== settings.partition) return;
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {}))
          if (v !== undefined) headers[k] = Array.isArray(v) ? String(v.at(-1)) : String(v);
        const next = (BigInt(message.offset) + 1n).toString();
        settings.onMessage(
          {
            topic,
            partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
            timestamp: Number(message.timestamp),
            headers,
          },
          () => this.marked.set(partition, next),
        );
      },
    });
    this.timer = setInterval(() => void this.commit(), COMMIT_INTERVAL_MS);
  }

  /** Stops fetching (records already handed over still get acknowledged). */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.consumer.pause([{ topic: this.settings.topic }]);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const only = this.settings.partition;
    this.consumer.resume([
      { topic: this.settings.topic, ...(only !== undefined ? { partitions: [only] } : {}) },
    ]);
  }

  private async commit(): Promise<void> {
    if (this.marked.size === 0) return;
    const offsets = [...this.marked].map(([partition, offset]) => ({
      topic: this.settings.topic,
      partition,
      offset,
    }));
    this.marked.clear();
    await this.consumer.commitOffsets(offsets).catch((err: unknown) => {
      // Not committed: the records are read again (same ids), never lost.
      this.settings.logger.debug('offset commit failed', { error: err });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.commit();
    await this.consumer.disconnect().catch(() => undefined);
  }
}
