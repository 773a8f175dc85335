import assert from 'node:assert/strict';
import type { EventSource } from '@ganglion/api';
import { decodeCloudEvent, eventData, type CloudEvent } from '@ganglion/eventbus';
import { freePort, ServiceProcess, waitFor, type ServiceName } from '@ganglion/testing';
import { ingressTopics, type BusCollector } from './harness.js';

/** One event of a broker source seen on the bus. */
export interface BusEvent {
  id: string;
  event: CloudEvent<unknown>;
  data: Record<string, unknown>;
  headers: Record<string, string>;
  /** The bus record's timestamp (ms). */
  timestamp: number;
}

/**
 * A broker source's ingress service under test (`ingress-<type>` processes) with its own
 * resources and bus topics on the bus cluster `brokers`: collects every bus event, numbered by
 * the sequence number `seqOf` finds in its data, and starts, kills and stops replicas.
 */
export class BrokerIngress {
  readonly events: BusEvent[] = [];
  /** Ids seen per sequence number. */
  readonly bySeq = new Map<number, Set<string>>();
  readonly replicas: ServiceProcess[] = [];
  private collector: BusCollector | undefined;
  readonly resourcesTopic: string;
  readonly busTopic: string;

  constructor(
    private readonly options: {
      service: ServiceName;
      prefix: string;
      /** The bus cluster (and the resources topic's). */
      brokers: string;
      eventSource: { name: string; spec: EventSource['spec'] };
      seqOf: (data: Record<string, unknown>) => number | undefined;
      env?: Record<string, string>;
    },
  ) {
    this.resourcesTopic = `${options.prefix}-resources`;
    this.busTopic = `${options.prefix}-bus`;
  }

  async start(): Promise<this> {
    this.collector = await ingressTopics({
      brokers: this.options.brokers,
      prefix: this.options.prefix,
      resourcesTopic: this.resourcesTopic,
      busTopic: this.busTopic,
      busPartitions: 1,
      eventSource: this.options.eventSource,
      onEvent: (message) => {
        const event = decodeCloudEvent(message);
        const data = eventData(event) as Record<string, unknown>;
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {}))
          if (v !== undefined) headers[k] = String(v);
        this.events.push({
          id: event.id,
          event,
          data,
          headers,
          timestamp: Number(message.timestamp),
        });
        const seq = this.options.seqOf(data);
        if (seq === undefined) return;
        let ids = this.bySeq.get(seq);
        if (!ids) this.bySeq.set(seq, (ids = new Set()));
        ids.add(event.id);
      },
    });
    return this;
  }

  /** Starts one more replica and waits until it is ready. */
  async replica(env: Record<string, string> = {}): Promise<ServiceProcess> {
    const name = `${this.options.prefix}-${this.replicas.length}`;
    const proc = new ServiceProcess(this.options.service, {
      healthPort: await freePort(),
      env: {
        KAFKA_BROKERS: this.options.brokers,
        GANGLION_RESOURCES_TOPIC: this.resourcesTopic,
        GANGLION_INSTANCE_ID: name,
        GANGLION_OWNERSHIP_SESSION_MS: '6000',
        LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? 'info',
        ...this.options.env,
        ...env,
      },
      ...(process.env['E2E_VERBOSE']
        ? { onLine: (l: string) => console.log(`[${name}] ${l}`) }
        : {}),
    });
    this.replicas.push(proc.start());
    await proc.ready(120_000);
    return proc;
  }

  /** Waits until every sequence number in [from, to) is on the bus. */
  async waitForAll(from: number, to: number, timeoutMs = 240_000): Promise<void> {
    const missing = (): number[] => {
      const out: number[] = [];
      for (let i = from; i < to && out.length < 10; i++) if (!this.bySeq.has(i)) out.push(i);
      return out;
    };
    await waitFor(() => missing().length === 0, {
      timeoutMs,
      what: `messages ${from}..${to - 1} on the bus`,
    }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message} (missing e.g. ${missing().join(', ')})`);
    });
  }

  /** Every sequence number in [from, to) has exactly one event id (duplicates only with the same id). */
  assertOneIdPerMessage(from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const ids = this.bySeq.get(i);
      assert.ok(ids, `message ${i} is not on the bus`);
      assert.equal(ids.size, 1, `message ${i} is on the bus under ${ids.size} ids`);
    }
  }

  /** How many events carry each sequence number in [from, to) more than once. */
  duplicates(from: number, to: number): number {
    const counts = new Map<number, number>();
    for (const e of this.events) {
      const s = this.options.seqOf(e.data);
      if (s !== undefined && s >= from && s < to) counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    return [...counts.values()].filter((c) => c > 1).length;
  }

  async stop(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.stop()));
    await this.collector?.disconnect();
  }
}
