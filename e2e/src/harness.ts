import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION, keyOf, type AnyResource, type EventSource } from '@ganglion/api';
import {
  createKafka,
  ensureTopics,
  resourcesTopicConfig,
  type Kafka,
  type KafkaMessage,
} from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import { freePort, ServiceProcess, SERVICES, withBody, type ServiceName } from '@ganglion/testing';

/** A real HTTP server standing in for a trigger's target; records every request. */
export interface TargetCall {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export class TargetServer {
  readonly calls: TargetCall[] = [];
  private server: Server | undefined;
  port = 0;

  async start(): Promise<this> {
    this.port = await freePort();
    this.server = createServer(
      withBody((req, res, raw) => {
        const text = raw.toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // keep text
        }
        this.calls.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body,
        });
        res.writeHead(200).end('ok');
      }),
    );
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}

/** W3C traceparent → trace id. */
export function traceIdOf(traceparent: unknown): string {
  const m = /^00-([0-9a-f]{32})-[0-9a-f]{16}-0[01]$/.exec(String(traceparent));
  assert.ok(m, `a W3C traceparent, got ${String(traceparent)}`);
  return m[1]!;
}

/** Writes manifests into a fresh directory and returns it. */
export function manifestDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-e2e-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Manifest of the EventBus `default` on the Kafka topic `topic`. */
export function eventBusYaml(topic: string): string {
  return `apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: default}\nspec:\n  kafka:\n    topic: ${topic}\n`;
}

/** Manifest of a webhook EventSource `name`: each event on `port`, endpoint `/<event>`, method POST. */
export function webhookSourceYaml(name: string, port: number, events: string[]): string {
  const lines = events
    .map((e) => `    ${e}: {port: "${port}", endpoint: /${e}, method: POST}\n`)
    .join('');
  return `apiVersion: argoproj.io/v1alpha1\nkind: EventSource\nmetadata: {name: ${name}}\nspec:\n  webhook:\n${lines}`;
}

/**
 * Manifest of a Sensor `name` on the webhook EventSource's event `example` with one http trigger
 * `http-trigger` POSTing to `url`; `payload` maps a data key of the event to a key of the body.
 */
export function webhookHttpSensorYaml(
  name: string,
  url: string,
  payload: Record<string, string>,
): string {
  const lines = Object.entries(payload)
    .map(
      ([key, dest]) =>
        `            - src: {dependencyName: dep, dataKey: ${key}}\n              dest: ${dest}\n`,
    )
    .join('');
  return `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: ${name}}
spec:
  dependencies:
    - {name: dep, eventSourceName: webhook, eventName: example}
  triggers:
    - template:
        name: http-trigger
        http:
          url: ${url}
          method: POST
          payload:
${lines}`;
}

/** The four services as separate processes on one broker, with a private resources topic. */
export interface StackOptions {
  /** Extra environment of every service (e.g. OTEL_* settings). */
  env?: Record<string, string>;
  /** Serve `/metrics` on a free port per service (see {@link Stack.metricsUrl}). */
  metrics?: boolean;
}

export class Stack {
  readonly services = new Map<ServiceName, ServiceProcess>();
  private readonly metricsPorts = new Map<ServiceName, number>();

  constructor(
    private readonly brokers: string,
    private readonly prefix: string,
    private readonly resourcesDir: string,
    private readonly options: StackOptions = {},
  ) {}

  /** The `/metrics` URL of a service (the stack must have been started with `metrics: true`). */
  metricsUrl(name: ServiceName): string {
    const port = this.metricsPorts.get(name);
    if (!port) throw new Error(`${name} serves no metrics in this stack`);
    return `http://127.0.0.1:${port}/metrics`;
  }

  /** Starts every service; if one does not get ready, stops those started and says which. */
  async start(): Promise<this> {
    try {
      await this.startAll();
    } catch (err) {
      await this.stop();
      throw err;
    }
    return this;
  }

  private async startAll(): Promise<void> {
    for (const name of SERVICES) {
      if (this.options.metrics) this.metricsPorts.set(name, await freePort());
      const metricsPort = this.metricsPorts.get(name);
      const proc = new ServiceProcess(name, {
        healthPort: await freePort(),
        ...(metricsPort ? { metricsPort } : {}),
        env: {
          ...this.options.env,
          KAFKA_BROKERS: this.brokers,
          GANGLION_RESOURCES_TOPIC: `${this.prefix}-resources`,
          GANGLION_RESOURCES_DIR: this.resourcesDir,
          GANGLION_HOST: '127.0.0.1',
          GANGLION_INSTANCE_ID: `${this.prefix}-0`,
          LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? 'info',
        },
        ...(process.env['E2E_VERBOSE']
          ? { onLine: (l: string) => console.log(`[${name}] ${l}`) }
          : {}),
      });
      this.services.set(name, proc.start());
      // The reconciler publishes the resources the others wait for; start it first.
      if (name === 'reconciler') await proc.ready();
    }
    await Promise.all([...this.services.values()].map((s) => s.ready()));
  }

  get(name: ServiceName): ServiceProcess {
    return this.services.get(name)!;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => s.stop()));
  }
}

/** The Kafka consumer that collects an ingress test's bus records. */
export type BusCollector = ReturnType<Kafka['consumer']>;

/**
 * An ingress test's own topics on a real broker: creates its resources topic and bus topic,
 * publishes the default EventBus and `eventSource` (namespace `default`) to the resources topic,
 * and hands every record of the bus topic, from the beginning, to `onEvent`. Disconnect the
 * returned collector after the test.
 */
export async function ingressTopics(options: {
  brokers: string;
  prefix: string;
  resourcesTopic: string;
  busTopic: string;
  busPartitions: number;
  eventSource: { name: string; spec: EventSource['spec'] };
  onEvent: (message: KafkaMessage) => void;
}): Promise<BusCollector> {
  const { prefix, resourcesTopic, busTopic } = options;
  const kafka = createKafka({
    brokers: options.brokers.split(','),
    clientId: prefix,
    logger: createLogger('test', { level: 'error' }),
  });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [
    resourcesTopicConfig(resourcesTopic, 1),
    { topic: busTopic, numPartitions: options.busPartitions, replicationFactor: 1 },
  ]);
  await admin.disconnect();
  const resources: AnyResource[] = [
    {
      apiVersion: API_VERSION,
      kind: 'EventBus',
      metadata: { name: 'default', namespace: 'default' },
      spec: { kafka: { topic: busTopic } },
    },
    {
      apiVersion: API_VERSION,
      kind: 'EventSource',
      metadata: { name: options.eventSource.name, namespace: 'default' },
      spec: options.eventSource.spec,
    },
  ];
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: resourcesTopic,
    messages: resources.map((r) => ({ key: keyOf(r), value: JSON.stringify(r) })),
  });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `${prefix}-collector` });
  await consumer.connect();
  await consumer.subscribe({ topics: [busTopic], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => options.onEvent(message) });
  return consumer;
}
