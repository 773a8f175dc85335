/**
 * Test support for push sources: an in-memory resource view, a runner on a real Kafka broker and
 * a collector of what reached the event topic. Used by the *.test.ts files only.
 */
import { API_VERSION, type AnyResource, type EventBus, type EventSource } from '@ganglion/api';
import {
  BusClients,
  decodeCloudEvent,
  ensureTopics,
  eventData,
  type BusProducers,
  type CloudEvent,
  type Kafka,
} from '@ganglion/eventbus';
import { LocalSecretResolver, secretEnvName } from '@ganglion/k8s';
import { createLogger } from '@ganglion/telemetry';
import type { IngressLimits } from './ingress-limits.js';
import { PushIngressRunner } from './push-ingress.runner.js';
import type { PushSource } from './push-source.js';
import { PUSH_PRODUCER_OPTIONS, type ResourceView } from './source-host.js';

export class MemoryStore implements ResourceView {
  private readonly items = new Map<string, AnyResource>();
  private readonly listeners = new Set<() => void>();

  put(r: AnyResource): void {
    this.items.set(`${r.kind}/${r.metadata.namespace ?? 'default'}/${r.metadata.name}`, r);
    for (const l of this.listeners) l();
  }

  remove(kind: AnyResource['kind'], name: string, namespace = 'default'): void {
    this.items.delete(`${kind}/${namespace}/${name}`);
    for (const l of this.listeners) l();
  }

  get<T extends AnyResource>(kind: T['kind'], namespace: string, name: string): T | undefined {
    return this.items.get(`${kind}/${namespace}/${name}`) as T | undefined;
  }

  list<T extends AnyResource>(kind: T['kind']): T[] {
    return [...this.items.values()].filter((r) => r.kind === kind) as T[];
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export interface Received {
  event: CloudEvent<unknown>;
  data: unknown;
  key: string;
}

/** One bus topic on a real broker, with a consumer collecting every event. */
export class BusFixture {
  readonly received: Received[] = [];
  /** The clients of the fixture's process: the bus (without `spec.kafka.url`) is on the installation's cluster. */
  readonly clients: BusClients;
  readonly kafka: Kafka;
  private consumer: ReturnType<Kafka['consumer']> | undefined;
  readonly logger = createLogger('test', {
    level: (process.env['TEST_LOG_LEVEL'] as 'error') ?? 'error',
  });

  constructor(
    brokers: string,
    readonly topic: string,
  ) {
    this.clients = new BusClients({
      brokers: brokers.split(','),
      clientId: `${topic}-test`,
      logger: this.logger,
    });
    this.kafka = this.clients.installation;
  }

  bus(): EventBus {
    return {
      apiVersion: API_VERSION,
      kind: 'EventBus',
      metadata: { name: 'default', namespace: 'default' },
      spec: { kafka: { topic: this.topic } },
    };
  }

  async start(): Promise<this> {
    const admin = this.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic: this.topic, numPartitions: 1, replicationFactor: 1 }]);
    await admin.disconnect();
    this.consumer = this.kafka.consumer({
      groupId: `${this.topic}-collector`,
      sessionTimeout: 10_000,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        const event = decodeCloudEvent(message);
        this.received.push({
          event,
          data: eventData(event),
          key: message.key?.toString('utf8') ?? '',
        });
      },
    });
    return this;
  }

  from(source: string): Received[] {
    return this.received.filter((r) => r.event.source === source);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

export function eventSource(
  name: string,
  spec: Record<string, unknown>,
  annotations?: Record<string, string>,
): EventSource {
  return {
    apiVersion: API_VERSION,
    kind: 'EventSource',
    metadata: { name, namespace: 'default', ...(annotations ? { annotations } : {}) },
    spec: spec as EventSource['spec'],
  };
}

/** Env entries that make `LocalSecretResolver` find `secrets[name][key]`. */
export function secretEnv(secrets: Record<string, Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, keys] of Object.entries(secrets))
    for (const [key, value] of Object.entries(keys)) env[secretEnvName({ name, key })] = value;
  return env;
}

export interface RunnerFixture<C> {
  runner: PushIngressRunner<C>;
  producers: BusProducers;
  close(): Promise<void>;
}

/** A runner of `source` over `store`, publishing through `clients` (the bus fixture's or a dead cluster's). */
export async function startRunner<C>(
  source: PushSource<C>,
  store: ResourceView,
  clients: BusClients,
  options: {
    env?: Record<string, string>;
    fetch?: typeof fetch;
    now?: () => number;
    defaultRateLimit?: number;
    lingerMs?: number;
    maxQueuedBytes?: number;
    limits?: Partial<IngressLimits>;
    /** A secrets directory (`<dir>/<name>/<key>` files) read before `env`. */
    secretsDir?: string;
    secretRefreshMs?: number;
  } = {},
): Promise<RunnerFixture<C>> {
  const logger = createLogger(`ingress-${source.type}`, {
    level: (process.env['TEST_LOG_LEVEL'] as 'error') ?? 'error',
  });
  const producers = clients.producers({
    ...PUSH_PRODUCER_OPTIONS,
    ...(options.lingerMs !== undefined ? { lingerMs: options.lingerMs } : {}),
    ...(options.maxQueuedBytes !== undefined ? { maxQueuedBytes: options.maxQueuedBytes } : {}),
  });
  const runner = new PushIngressRunner<C>(source, {
    host: '127.0.0.1',
    logger,
    store,
    producers,
    secrets: new LocalSecretResolver(options.secretsDir, options.env ?? {}),
    ...(options.secretRefreshMs !== undefined ? { secretRefreshMs: options.secretRefreshMs } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.defaultRateLimit ? { defaultRateLimit: options.defaultRateLimit } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  await runner.start();
  return {
    runner,
    producers,
    close: async () => {
      await runner.close();
      await producers.close();
    },
  };
}
