import { randomUUID } from 'node:crypto';
import { decodeActionRecord, type ActionRecord, type OutcomeRecord } from '@ganglion/core';
import {
  BatchingProducer,
  busTopics,
  CloudEvent,
  createKafka,
  encodeCloudEvent,
  TopicReader,
  type BusTopics,
  type Kafka,
  type OutRecord,
} from '@ganglion/eventbus';
import { createLogger, type Logger } from '@ganglion/telemetry';
import { freePort, ServiceProcess, type ServiceName } from '@ganglion/testing';
import { eventBusYaml, manifestDir } from './harness.js';

/** Starts a service process with the common environment of a test's private installation. */
export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  instance: string,
): Promise<ServiceProcess> {
  const proc = new ServiceProcess(name, {
    healthPort: await freePort(),
    env: {
      GANGLION_HOST: '127.0.0.1',
      GANGLION_INSTANCE_ID: instance,
      LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? 'info',
      ...env,
    },
    ...(process.env['E2E_VERBOSE']
      ? { onLine: (l: string) => console.log(`[${instance}] ${l}`) }
      : {}),
  });
  proc.start();
  await proc.ready(90_000);
  return proc;
}

export interface BusFixtureOptions {
  brokers: string;
  prefix: string;
  /** Manifests besides the EventBus (Sensors, EventSources), by file name. */
  manifests: Record<string, string>;
  partitions?: number;
}

/**
 * A test's private installation: its own resources topic and EventBus topics (created and
 * published by a reconciler process in directory mode), a producer for events straight onto
 * the event topic, and readers collecting the actions and outcomes the sensor commits.
 */
export class BusFixture {
  readonly topics: BusTopics;
  readonly env: Record<string, string>;
  readonly actions: ActionRecord[] = [];
  /** Where each of `actions` was read (`<partition>@<offset>`), for diagnostics. */
  readonly actionAt: string[] = [];
  readonly outcomes: OutcomeRecord[] = [];
  /** Marker records seen on the actions topic, by value. */
  readonly markers = new Set<string>();
  /** The fixture's own log (its readers and producer), last lines, for {@link diagnose}. */
  private readonly logLines: string[] = [];
  private readonly logger: Logger = createLogger('e2e', {
    level: 'debug',
    ...(process.env['E2E_VERBOSE']
      ? {}
      : {
          write: (line: string) => {
            this.logLines.push(line);
            if (this.logLines.length > 400) this.logLines.splice(0, 200);
          },
        }),
  });
  readonly kafka: Kafka;
  private producer: BatchingProducer | undefined;
  private readers: TopicReader[] = [];
  reconciler: ServiceProcess | undefined;

  constructor(private readonly options: BusFixtureOptions) {
    this.topics = busTopics(`${options.prefix}-bus`);
    this.env = {
      KAFKA_BROKERS: options.brokers,
      GANGLION_RESOURCES_TOPIC: `${options.prefix}-resources`,
      GANGLION_TOPIC_PARTITIONS: String(options.partitions ?? 3),
    };
    this.kafka = createKafka({
      brokers: [options.brokers],
      clientId: `e2e-${options.prefix}`,
      logger: this.logger,
    });
  }

  async start(): Promise<this> {
    const dir = manifestDir({
      'eventbus.yaml': eventBusYaml(this.topics.events),
      ...this.options.manifests,
    });
    this.env['GANGLION_RESOURCES_DIR'] = dir;
    this.reconciler = await startService(
      'reconciler',
      this.env,
      `${this.options.prefix}-reconciler`,
    );
    this.producer = new BatchingProducer(this.kafka, { logger: this.logger, maxQueued: 100_000 });
    const actions = new TopicReader({
      kafka: this.kafka,
      topics: [this.topics.actions],
      logger: this.logger,
      onRecord: (_t, p, m) => {
        const v = m.value?.toString('utf8') ?? '';
        if (m.key?.toString('utf8') === 'e2e-marker') this.markers.add(v);
        else {
          this.actions.push(decodeActionRecord(v));
          this.actionAt.push(`${p}@${m.offset}`);
        }
      },
    });
    const outcomes = new TopicReader({
      kafka: this.kafka,
      topics: [this.topics.outcomes],
      logger: this.logger,
      onRecord: (_t, _p, m) =>
        void this.outcomes.push(JSON.parse(m.value?.toString('utf8') ?? 'null') as OutcomeRecord),
    });
    this.readers = [actions, outcomes];
    await Promise.all(this.readers.map((r) => r.start()));
    await Promise.all(this.readers.map((r) => r.joined));
    return this;
  }

  /** Starts a sensor replica. */
  sensor(instance: string): Promise<ServiceProcess> {
    return startService('sensor', this.env, `${this.options.prefix}-${instance}`);
  }

  /** Produces events (as an ingress would), in order, and waits for their acknowledgement. */
  async send(events: TestEvent[]): Promise<void> {
    await Promise.all(events.map((e) => this.producer!.send(eventRecord(this.topics.events, e))));
  }

  /** Produces events at about `perSecond`, in order, in slices of a tenth of a second. */
  async sendPaced(events: TestEvent[], perSecond: number): Promise<void> {
    const slice = Math.max(1, Math.round(perSecond / 10));
    const t0 = Date.now();
    const acks: Promise<void>[] = [];
    for (let i = 0; i < events.length; i += slice) {
      const due = t0 + (i / perSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      acks.push(this.send(events.slice(i, i + slice)));
    }
    await Promise.all(acks);
  }

  /** Produces each slice as its own produce request, `intervalMs` apart, in order. */
  async sendSlices(slices: TestEvent[][], intervalMs: number): Promise<void> {
    const t0 = Date.now();
    const acks: Promise<void>[] = [];
    for (let i = 0; i < slices.length; i++) {
      const due = t0 + i * intervalMs;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      acks.push(this.send(slices[i]!));
    }
    await Promise.all(acks);
  }

  /**
   * Waits until every record committed to the actions topic before this call has been read:
   * a marker is written to each of its partitions (outside any transaction) and read back.
   */
  async drainActions(partitions: number, timeoutMs = 60_000): Promise<void> {
    const id = randomUUID();
    const want = Array.from({ length: partitions }, (_, p) => `${id}-${p}`);
    await Promise.all(
      want.map((v, p) =>
        this.producer!.send({
          topic: this.topics.actions,
          key: 'e2e-marker',
          value: v,
          partition: p,
        }),
      ),
    );
    const deadline = Date.now() + timeoutMs;
    while (!want.every((v) => this.markers.has(v))) {
      if (Date.now() > deadline)
        throw new Error('the actions topic was not read to its end in time');
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * What a failed test needs to tell a stalled sensor from a stalled reader: per partition, the
   * end offset of the event, joins and actions topics, the sensor group's committed offsets,
   * how many actions this fixture read, and the last lines of its own log.
   */
  async diagnose(): Promise<string> {
    const admin = this.kafka.admin();
    const out: string[] = [];
    try {
      await admin.connect();
      for (const topic of [this.topics.events, this.topics.joins, this.topics.actions]) {
        const ends = await admin.fetchTopicOffsets(topic);
        out.push(`${topic} end offsets: ${ends.map((p) => `${p.partition}=${p.high}`).join(' ')}`);
      }
      const group = `ganglion-sensor.${this.topics.events}`;
      for (const t of await admin.fetchOffsets({
        groupId: group,
        topics: [this.topics.events, this.topics.joins],
      })) {
        out.push(
          `${group} committed on ${t.topic}: ${t.partitions.map((p) => `${p.partition}=${p.offset}`).join(' ')}`,
        );
      }
    } catch (err) {
      out.push(`(offsets unavailable: ${(err as Error).message})`);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const read = new Map<string, number>();
    for (const at of this.actionAt) {
      const p = at.slice(0, at.indexOf('@'));
      read.set(p, (read.get(p) ?? 0) + 1);
    }
    out.push(
      `actions read by partition: ${[...read].map(([p, n]) => `${p}=${n}`).join(' ')}; last read at ${this.actionAt.slice(-3).join(', ')}`,
    );
    out.push(`fixture log (last 30 lines):`, ...this.logLines.slice(-30));
    return out.join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all(this.readers.map((r) => r.stop()));
    await this.producer?.close();
    await this.reconciler?.stop();
  }
}

export interface TestEvent {
  id: string;
  source: string;
  subject: string;
  data: unknown;
  /** Record timestamp and CloudEvent time (epoch ms); default now. */
  timeMs?: number;
}

function eventRecord(topic: string, e: TestEvent): OutRecord {
  const time = e.timeMs ?? Date.now();
  const ce = new CloudEvent({
    id: e.id,
    source: e.source,
    subject: e.subject,
    type: 'webhook',
    datacontenttype: 'application/json',
    time: new Date(time).toISOString(),
    data: e.data,
  });
  return { topic, ...encodeCloudEvent(ce, `${e.source}.${e.subject}`), timestamp: String(time) };
}

/** A Sensor manifest. */
export function sensorYaml(name: string, dependencies: object[], triggers: object[]): string {
  return JSON.stringify({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Sensor',
    metadata: { name },
    spec: { dependencies, triggers },
  });
}

/** Counts of each action id. */
export function countById(actions: readonly ActionRecord[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of actions) m.set(a.actionId, (m.get(a.actionId) ?? 0) + 1);
  return m;
}
