import {
  CompressionTypes,
  Kafka,
  logLevel,
  Partitioners,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import type { Logger } from '@ganglion/telemetry';

/** Connection settings of a Kafka cluster a trigger produces to (Argo `KafkaTrigger`). */
export interface ExternalKafkaSettings {
  brokers: string[];
  clientId: string;
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean };
  sasl?:
    | {
        mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
        username: string;
        password: string;
      }
    | {
        /** SASL/OAUTHBEARER: the token is asked for on each new connection (AWS MSK IAM, say). */
        mechanism: 'oauthbearer';
        oauthBearerProvider: () => Promise<{ value: string }>;
      };
  logger: Logger;
}

interface ExternalRecord {
  topic: string;
  key?: string | null;
  value: Buffer | string;
  partition?: number;
  headers?: Record<string, string>;
  /** gzip the record (Argo's `compress`; kafkajs has no built-in snappy codec). */
  compress?: boolean;
}

/**
 * An idempotent (acks=all) producer to any Kafka cluster, for the kafka trigger: `send`
 * resolves only once the broker acknowledged the record, unlike Argo's fire-and-forget async
 * producer. Kept behind libs/eventbus so only this library imports the Kafka client.
 */
export class ExternalProducer {
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;

  constructor(settings: ExternalKafkaSettings) {
    const log = settings.logger.child({ component: 'kafka-trigger' });
    const kafka = new Kafka({
      clientId: settings.clientId,
      brokers: settings.brokers,
      connectionTimeout: 3000,
      requestTimeout: 10_000,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
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
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  private ensureConnected(): Promise<void> {
    this.connected ??= this.producer.connect().catch((err: unknown) => {
      this.connected = undefined;
      throw err;
    });
    return this.connected;
  }

  /** Produces one record; resolves with where the broker stored it. */
  async send(record: ExternalRecord): Promise<{ partition: number; offset: string }> {
    await this.ensureConnected();
    const [meta] = await this.producer.send({
      topic: record.topic,
      acks: -1,
      ...(record.compress ? { compression: CompressionTypes.GZIP } : {}),
      messages: [
        {
          key: record.key ?? null,
          value: record.value,
          headers: record.headers ?? {},
          ...(record.partition !== undefined ? { partition: record.partition } : {}),
        },
      ],
    });
    return { partition: meta?.partition ?? -1, offset: meta?.baseOffset ?? meta?.offset ?? '' };
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }
}
