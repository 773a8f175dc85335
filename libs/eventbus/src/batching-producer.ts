import { Partitioners, type Kafka, type Producer, type TopicMessages } from 'kafkajs';
import type { Logger } from '@ganglion/telemetry';

/** A record to produce. */
export interface OutRecord {
  topic: string;
  key: string;
  value: Buffer | string | null;
  headers?: Record<string, string>;
  /** Explicit partition (default: murmur2 of the key, Java-compatible). */
  partition?: number;
  /** Record timestamp, epoch ms as a string (default: the producer's clock). */
  timestamp?: string;
}

/** Approximate wire size of a record (key, value, headers). */
export function recordBytes(r: OutRecord): number {
  let n = 70 + r.key.length + (r.value === null ? 0 : r.value.length);
  for (const [k, v] of Object.entries(r.headers ?? {})) n += k.length + v.length + 8;
  return n;
}

/**
 * Splits records into consecutive chunks of at most `maxBytes` (a single larger record is a
 * chunk of its own): kafkajs sends one record batch per partition, and the broker refuses a
 * batch larger than `message.max.bytes` (1 MiB by default).
 */
export function chunkByBytes(records: readonly OutRecord[], maxBytes = 512 * 1024): OutRecord[][] {
  const chunks: OutRecord[][] = [];
  let current: OutRecord[] = [];
  let size = 0;
  for (const r of records) {
    const b = recordBytes(r);
    if (current.length > 0 && size + b > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(r);
    size += b;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Groups records by topic into kafkajs `topicMessages`, keeping their order. */
export function toTopicMessages(records: readonly OutRecord[]): TopicMessages[] {
  const byTopic = new Map<string, TopicMessages>();
  for (const r of records) {
    let tm = byTopic.get(r.topic);
    if (!tm) byTopic.set(r.topic, (tm = { topic: r.topic, messages: [] }));
    tm.messages.push({
      key: r.key,
      value: r.value,
      headers: r.headers ?? {},
      ...(r.partition !== undefined ? { partition: r.partition } : {}),
      ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}),
    });
  }
  return [...byTopic.values()];
}

/** Raised when the bus is unreachable or did not acknowledge a batch. */
export class BusUnavailableError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'BusUnavailableError';
  }
}

/** Raised when too many records wait for the bus: callers should shed load (HTTP 503). */
export class BusSaturatedError extends Error {
  constructor(readonly queued: number) {
    super(`event bus saturated: ${queued} records waiting for acknowledgement`);
    this.name = 'BusSaturatedError';
  }
}

export interface BatchingProducerOptions {
  /** Wait this long for more records before sending a batch (ms, default 2). */
  lingerMs?: number;
  /** Most records in one produce request (default 500). */
  maxBatch?: number;
  /** Records allowed to wait (queued + in flight) before {@link BusSaturatedError} (default 20 000). */
  maxQueued?: number;
  logger: Logger;
  /** Observes each flushed batch size (metrics). */
  onBatch?: (size: number, ms: number, ok: boolean) => void;
}

/** Bytes per produce request, below the broker's default `message.max.bytes` (1 MiB). */
const MAX_BATCH_BYTES = 512 * 1024;

interface Pending {
  record: OutRecord;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Idempotent (acks=all) producer that micro-batches concurrent callers into one produce
 * request; every caller awaits the acknowledgement of its own batch. One request is in flight
 * at a time (the idempotent producer's ordering guarantee), and records arriving meanwhile
 * form the next batch, so batches grow with load instead of latency.
 */
export class BatchingProducer {
  private readonly producer: Producer;
  private queue: Pending[] = [];
  private inFlight = 0;
  private flushing = false;
  private timer: NodeJS.Timeout | undefined;
  private connected: Promise<void> | undefined;
  private closed = false;
  private readonly lingerMs: number;
  private readonly maxBatch: number;
  private readonly maxQueued: number;

  constructor(kafka: Kafka, private readonly options: BatchingProducerOptions) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Java-compatible murmur2 on the key: ordering per `<eventSource>.<eventName>`.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.lingerMs = options.lingerMs ?? 2;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxQueued = options.maxQueued ?? 20_000;
  }

  /** Records waiting or in flight. */
  get depth(): number {
    return this.queue.length + this.inFlight;
  }

  /** Resolves once the broker acknowledged the record (acks=all); rejects otherwise. */
  send(record: OutRecord): Promise<void> {
    if (this.closed) return Promise.reject(new BusUnavailableError('producer is shutting down'));
    if (this.depth >= this.maxQueued) return Promise.reject(new BusSaturatedError(this.depth));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushing) return;
    if (this.queue.length >= this.maxBatch) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.lingerMs);
    }
  }

  private async ensureConnected(): Promise<void> {
    this.connected ??= this.producer.connect().catch((err: unknown) => {
      this.connected = undefined;
      throw err;
    });
    return this.connected;
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    let take = 0;
    let bytes = 0;
    while (take < this.queue.length && take < this.maxBatch) {
      bytes += recordBytes(this.queue[take]!.record);
      if (take > 0 && bytes > MAX_BATCH_BYTES) break;
      take++;
    }
    const batch = this.queue.splice(0, take);
    this.inFlight = batch.length;
    const started = Date.now();
    try {
      await this.ensureConnected();
      await this.producer.sendBatch({ topicMessages: toTopicMessages(batch.map((p) => p.record)), acks: -1 });
      this.options.onBatch?.(batch.length, Date.now() - started, true);
      for (const p of batch) p.resolve();
    } catch (err) {
      this.options.onBatch?.(batch.length, Date.now() - started, false);
      this.options.logger.warn('produce failed', { records: batch.length, error: err });
      const e = new BusUnavailableError(`event bus did not acknowledge the event: ${(err as Error).message}`, err);
      for (const p of batch) p.reject(e);
    } finally {
      this.inFlight = 0;
      this.flushing = false;
      if (this.queue.length > 0) this.schedule();
    }
  }

  /** Sends what is queued, then disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.queue.length > 0 || this.flushing) {
      if (!this.flushing) await this.flush();
      else await new Promise((r) => setTimeout(r, 5));
    }
    await this.producer.disconnect().catch(() => undefined);
  }
}
