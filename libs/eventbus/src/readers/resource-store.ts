import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { keyOf, parseResourceKey, type AnyResource, type Kind } from '@ganglion/api';
import type { Logger } from '@ganglion/telemetry';
import { PRIVATE_GROUP_TIMING } from '../client/client.js';

type ResourceChange =
  | { type: 'upsert'; key: string; resource: AnyResource }
  | { type: 'delete'; key: string; kind: Kind; namespace: string; name: string };

/**
 * The data plane's view of the configuration: a replica of the compacted resources topic,
 * read from the beginning by every process (no committed offsets). `ready` resolves once the
 * store has caught up with the topic's end as of start-up, so a service never acts on a
 * partial configuration.
 */
export class ResourceStore {
  private readonly resources = new Map<string, AnyResource>();
  private readonly listeners = new Set<(c: ResourceChange) => void>();
  private consumer: Consumer | undefined;
  private readyResolve!: () => void;
  readonly ready: Promise<void> = new Promise((r) => (this.readyResolve = r));

  constructor(
    protected readonly kafkaClient: Kafka,
    private readonly topic: string,
    private readonly logger: Logger,
  ) {}

  get<T extends AnyResource>(kind: T['kind'], namespace: string, name: string): T | undefined {
    return this.resources.get(`${kind}/${namespace}/${name}`) as T | undefined;
  }

  list<T extends AnyResource>(kind: T['kind']): T[] {
    return [...this.resources.values()].filter((r) => r.kind === kind) as T[];
  }

  onChange(listener: (c: ResourceChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    const admin = this.kafkaClient.admin();
    await admin.connect();
    const ends = new Map<number, bigint>();
    try {
      for (const p of await admin.fetchTopicOffsets(this.topic))
        if (BigInt(p.high) > BigInt(p.low)) ends.set(p.partition, BigInt(p.high));
    } finally {
      await admin.disconnect();
    }
    if (ends.size === 0) this.readyResolve();
    this.consumer = this.kafkaClient.consumer({
      groupId: `ganglion-resources-${randomUUID()}`,
      readUncommitted: false,
      ...PRIVATE_GROUP_TIMING,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        this.apply(message.key?.toString('utf8') ?? '', message.value);
        const end = ends.get(partition);
        if (end !== undefined && BigInt(message.offset) + 1n >= end) {
          ends.delete(partition);
          if (ends.size === 0) this.readyResolve();
        }
      },
    });
  }

  private apply(key: string, value: Buffer | null): void {
    const parsed = parseResourceKey(key);
    if (!parsed) {
      this.logger.warn('ignoring record with an invalid resource key', { key });
      return;
    }
    if (value === null || value.length === 0) {
      if (!this.resources.delete(key)) return;
      this.emit({ type: 'delete', key, ...parsed });
      return;
    }
    let resource: AnyResource;
    try {
      resource = JSON.parse(value.toString('utf8')) as AnyResource;
    } catch (err) {
      this.logger.warn('ignoring unparsable resource record', { key, error: err });
      return;
    }
    if (keyOf(resource) !== key) {
      this.logger.warn('ignoring resource whose key does not match its metadata', { key });
      return;
    }
    const previous = this.resources.get(key);
    if (previous && JSON.stringify(previous) === JSON.stringify(resource)) return;
    this.resources.set(key, resource);
    this.emit({ type: 'upsert', key, resource });
  }

  private emit(change: ResourceChange): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (err) {
        this.logger.error('resource listener failed', { key: change.key, error: err });
      }
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
