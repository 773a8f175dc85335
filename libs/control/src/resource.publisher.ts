import { eventBusTopic, parseResourceKey, type AnyResource, type EventBus } from '@ganglion/api';
import {
  BatchingProducer,
  busTopicConfigs,
  busTopicPolicy,
  DEFAULT_TOPIC_POLICY,
  type TopicPolicy,
  busTopics,
  ensureTopics,
  type BusClients,
  type ResourceStore,
} from '@ganglion/eventbus';
import { processMetrics, type Logger } from '@ganglion/telemetry';
import type { ResourcePublisher } from './kubernetes.controller.js';

export interface PublisherSettings {
  resourcesTopic: string;
  partitions: number;
  replicationFactor: number;
  /** How bus topics are created (replication, min.insync.replicas, size and retention); defaults when unset. */
  topics?: TopicPolicy;
}

/**
 * The reconciler's side of the compacted resources topic: publishes normalized resources and
 * tombstones, and knows what the topic holds (its own writes, else the caught-up store), so an
 * unchanged resource is never re-published. Creates an EventBus's topics on the bus's own
 * brokers (`spec.kafka.url`) or the installation's.
 */
export class KafkaResourcePublisher implements ResourcePublisher {
  private readonly published = new Map<string, AnyResource | null>();
  private readonly producer: BatchingProducer;

  constructor(
    private readonly clients: BusClients,
    private readonly store: ResourceStore,
    private readonly settings: PublisherSettings,
    private readonly logger: Logger,
  ) {
    this.producer = new BatchingProducer(clients.installation, {
      logger,
      onBatch: processMetrics().batchObserver('resources'),
    });
  }

  current(key: string): AnyResource | undefined {
    if (this.published.has(key)) return this.published.get(key) ?? undefined;
    const ref = parseResourceKey(key);
    return ref ? this.store.get(ref.kind, ref.namespace, ref.name) : undefined;
  }

  /** Forgets this replica's own writes (on gaining leadership: another replica may have written since). */
  reset(): void {
    this.published.clear();
  }

  async publish(key: string, resource: AnyResource | null): Promise<void> {
    await this.producer.send({
      topic: this.settings.resourcesTopic,
      key,
      value: resource ? JSON.stringify(resource) : null,
    });
    this.published.set(key, resource);
    this.logger.info(resource ? 'published resource' : 'deleted resource', { key });
  }

  async ensureBusTopics(bus: EventBus): Promise<string[]> {
    const topics = busTopics(eventBusTopic(bus));
    const admin = this.clients.clientFor(bus).admin();
    await admin.connect();
    try {
      const created = await ensureTopics(
        admin,
        busTopicConfigs(topics, {
          ...busTopicPolicy(bus, {
            ...DEFAULT_TOPIC_POLICY,
            ...this.settings.topics,
            replicationFactor: this.settings.replicationFactor,
          }),
          partitions: this.settings.partitions,
        }),
      );
      if (created.length)
        this.logger.info('created topics', {
          eventBus: `${bus.metadata.namespace}/${bus.metadata.name}`,
          topics: created,
        });
    } finally {
      await admin.disconnect();
    }
    return Object.values(topics) as string[];
  }

  async close(): Promise<void> {
    await this.producer.close();
  }
}
