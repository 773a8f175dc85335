import type { AnyResource, EventBus } from '@ganglion/api';
import { BatchingProducer, createKafka, parseBrokers, type BatchingProducerOptions, type Kafka } from '@ganglion/eventbus';
import type { Logger } from '@ganglion/telemetry';

/** The part of the resource store a source runner reads (libs/eventbus `ResourceStore` fits). */
export interface ResourceView {
  get<T extends AnyResource>(kind: T['kind'], namespace: string, name: string): T | undefined;
  list<T extends AnyResource>(kind: T['kind']): T[];
  onChange(listener: () => void): () => void;
}

/**
 * Producer settings of the push ingress services: up to five produce requests in flight at once
 * (each on its own idempotent producer, as Kafka's Java producer keeps five), so
 * acknowledgements are not limited to one broker round trip at a time, and 1 ms linger (a
 * request waits at most that long for others to share its produce request). HTTP requests in flight together have no order to keep; an event is still
 * ordered after every event acknowledged before it was received, and the events of one request
 * keep their order (`OutRecord.group`).
 */
export const PUSH_PRODUCER_OPTIONS: Omit<BatchingProducerOptions, 'logger'> = { maxInFlight: 5, lingerMs: 1 };

/**
 * One batching, idempotent producer per Kafka cluster an EventBus names (`spec.kafka.url`), or
 * the installation's cluster when the bus names none.
 */
export class BusProducers {
  private readonly producers = new Map<string, BatchingProducer>();
  private readonly clients = new Map<string, Kafka>();

  constructor(
    private readonly installation: Kafka,
    private readonly clientId: string,
    private readonly logger: Logger,
    private readonly producerOptions: Omit<BatchingProducerOptions, 'logger'> = {},
  ) {}

  /** The Kafka client of a bus's cluster. */
  clientFor(bus: EventBus): Kafka {
    const url = bus.spec.kafka?.url ?? '';
    if (!url) return this.installation;
    let client = this.clients.get(url);
    if (!client) this.clients.set(url, (client = createKafka({ brokers: parseBrokers(url), clientId: this.clientId, logger: this.logger })));
    return client;
  }

  forBus(bus: EventBus): BatchingProducer {
    const url = bus.spec.kafka?.url ?? '';
    let producer = this.producers.get(url);
    if (!producer) this.producers.set(url, (producer = new BatchingProducer(this.clientFor(bus), { ...this.producerOptions, logger: this.logger })));
    return producer;
  }

  async close(): Promise<void> {
    await Promise.all([...this.producers.values()].map((p) => p.close()));
    this.producers.clear();
  }
}
