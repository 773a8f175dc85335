import {
  Partitioners,
  type ICustomPartitioner,
  type Kafka,
  type Producer,
  type TopicMessages,
} from 'kafkajs';
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
  /**
   * Records sent one after another with the same `group` object (the events of one HTTP
   * request) stay in order: they go in one produce request, or, when a group must be split, its
   * rest waits until the first part is acknowledged. Not written to Kafka.
   */
  group?: object;
}

/** Approximate wire size of a record (key, value, headers). */
function recordBytes(r: OutRecord): number {
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

/**
 * kafkajs's `DefaultPartitioner` (Java-compatible murmur2 of the key modulo the partition count)
 * with each key's partition remembered per topic and partition count: a keyed record's partition
 * depends on nothing else, and the ingress sends the same few keys (`<eventSource>.<eventName>`)
 * over and over. Records without a key, or with an explicit partition, go to the partitioner.
 */
export const cachedKeyPartitioner: ICustomPartitioner = () => {
  const inner = Partitioners.DefaultPartitioner();
  const memo = new Map<string, number>();
  return (args) => {
    const key = args.message.key;
    if (
      typeof key !== 'string' ||
      (args.message.partition !== undefined && args.message.partition !== null)
    )
      return inner(args);
    const id = `${args.topic}\0${args.partitionMetadata.length}\0${key}`;
    let partition = memo.get(id);
    if (partition === undefined) {
      partition = inner(args);
      if (memo.size >= 10_000) memo.clear();
      memo.set(id, partition);
    }
    return partition;
  };
};

/** Raised when the bus is unreachable or did not acknowledge a batch. */
export class BusUnavailableError extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'BusUnavailableError';
  }
}

/**
 * Raised when too many records, or too many bytes, wait for the bus: callers should shed load
 * (HTTP 503 + Retry-After).
 */
export class BusSaturatedError extends Error {
  constructor(
    readonly queued: number,
    readonly queuedBytes = 0,
  ) {
    super(
      `event bus saturated: ${queued} records (${queuedBytes} bytes) waiting for acknowledgement`,
    );
    this.name = 'BusSaturatedError';
  }
}

/** Raised when a record is larger than the bus accepts: it can never be sent (HTTP 413). */
export class RecordTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    /** The limit, when known here; undefined when the broker refused it (the topic's `max.message.bytes`). */
    readonly limit?: number,
  ) {
    super(
      `event of ${bytes} bytes exceeds the largest record the bus accepts (${
        limit !== undefined ? `${limit} bytes` : "the topic's max.message.bytes"
      })`,
    );
    this.name = 'RecordTooLargeError';
  }
}

/** The broker refused a record as larger than the topic's `max.message.bytes` (MESSAGE_TOO_LARGE, 10). */
function tooLarge(err: unknown): boolean {
  for (
    let e = err as { type?: string; cause?: unknown } | undefined, n = 0;
    e && n < 5;
    e = e.cause as typeof e, n++
  )
    if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
  return false;
}

export interface BatchingProducerOptions {
  /**
   * Wait up to this long for more records before sending a batch (ms, default 2), counted from
   * the arrival of the oldest waiting record (Kafka's `linger.ms`): records that queued while
   * every produce request was in flight go out as soon as one is acknowledged.
   */
  lingerMs?: number;
  /** Most records in one produce request (default 500). */
  maxBatch?: number;
  /** Records allowed to wait (queued + in flight) before {@link BusSaturatedError} (default 20 000). */
  maxQueued?: number;
  /**
   * Bytes (approximate wire size) allowed to wait, queued + in flight, before
   * {@link BusSaturatedError} (default: no bound; the push ingress sets one). A record is always
   * accepted into an empty queue.
   */
  maxQueuedBytes?: number;
  /**
   * Largest record accepted (approximate wire size; default: no bound, the broker decides; the
   * push ingress sets one below the broker's `message.max.bytes`): a larger one is refused at
   * once with {@link RecordTooLargeError} instead of by the broker on every attempt.
   */
  maxRecordBytes?: number;
  /**
   * Produce requests in flight at once (default 1). Each is sent by its own idempotent producer
   * (kafkajs serialises an idempotent producer's requests to a broker), so records in
   * different requests in flight at the same time may land in either order; records are
   * ordered after every record acknowledged before they were sent, and a `group` keeps its
   * order. Only for records whose relative order before acknowledgement does not matter
   * (concurrent HTTP requests); keep 1 where a later record must follow an earlier one.
   */
  maxInFlight?: number;
  logger: Logger;
  /** Observes each flushed batch size (metrics). */
  onBatch?: (size: number, ms: number, ok: boolean) => void;
}

/** Bytes per produce request, below the broker's default `message.max.bytes` (1 MiB). */
const MAX_BATCH_BYTES = 512 * 1024;

interface Pending {
  record: OutRecord;
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
  /** Arrival (Date.now()). */
  at: number;
}

/** One idempotent producer with at most one produce request in flight. */
interface Lane {
  producer: Producer;
  connected: Promise<void> | undefined;
  busy: boolean;
}

/**
 * Idempotent (acks=all) producer that micro-batches concurrent callers into one produce
 * request; every caller awaits the acknowledgement of its own batch. Each lane (one by default)
 * has one request in flight at a time (the idempotent producer's ordering guarantee), and
 * records arriving meanwhile form the next batch, so batches grow with load instead of latency.
 */
export class BatchingProducer {
  private readonly lanes: Lane[];
  private queue: Pending[] = [];
  private inFlight = 0;
  /** Bytes of the records waiting or in flight. */
  private bytes = 0;
  private flushing = 0;
  /** A group was split across batches: nothing more is sent until that batch is acknowledged. */
  private barrier = false;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;
  private readonly lingerMs: number;
  private readonly maxBatch: number;
  private readonly maxQueued: number;
  private readonly maxQueuedBytes: number;
  private readonly maxRecordBytes: number;

  constructor(
    kafka: Kafka,
    private readonly options: BatchingProducerOptions,
  ) {
    const lanes = Math.max(1, Math.floor(options.maxInFlight ?? 1));
    this.lanes = Array.from({ length: lanes }, () => ({
      producer: kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // Java-compatible murmur2 on the key: ordering per `<eventSource>.<eventName>`.
        createPartitioner: cachedKeyPartitioner,
      }),
      connected: undefined,
      busy: false,
    }));
    this.lingerMs = options.lingerMs ?? 2;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxQueued = options.maxQueued ?? 20_000;
    this.maxQueuedBytes = options.maxQueuedBytes ?? Infinity;
    this.maxRecordBytes = options.maxRecordBytes ?? Infinity;
  }

  /** Records waiting or in flight. */
  get depth(): number {
    return this.queue.length + this.inFlight;
  }

  /** Bytes (approximate wire size) of the records waiting or in flight. */
  get depthBytes(): number {
    return this.bytes;
  }

  /** Produce requests in flight (at most `maxInFlight`). */
  get requestsInFlight(): number {
    return this.flushing;
  }

  /** Resolves once the broker acknowledged the record (acks=all); rejects otherwise. */
  send(record: OutRecord): Promise<void> {
    if (this.closed) return Promise.reject(new BusUnavailableError('producer is shutting down'));
    const bytes = recordBytes(record);
    if (bytes > this.maxRecordBytes)
      return Promise.reject(new RecordTooLargeError(bytes, this.maxRecordBytes));
    if (
      this.depth >= this.maxQueued ||
      (this.depth > 0 && this.bytes + bytes > this.maxQueuedBytes)
    )
      return Promise.reject(new BusSaturatedError(this.depth, this.bytes));
    this.bytes += bytes;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, bytes, resolve, reject, at: Date.now() });
      this.schedule();
    });
  }

  private freeLane(): Lane | undefined {
    if (this.barrier) return undefined;
    for (const lane of this.lanes) if (!lane.busy) return lane;
    return undefined;
  }

  /**
   * Sends the queue's head on a free lane once it is full or has lingered; never synchronously
   * inside `send` (the records a caller sends in one go, a group, are all queued first).
   */
  private schedule(): void {
    if (this.queue.length === 0 || this.immediate || !this.freeLane()) return;
    const wait =
      this.queue.length >= this.maxBatch ? 0 : this.lingerMs - (Date.now() - this.queue[0]!.at);
    if (wait <= 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.dispatch();
      });
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.dispatch();
      }, wait);
    }
  }

  /** Sends batches on free lanes while records are due. */
  private dispatch(): void {
    for (;;) {
      const lane = this.freeLane();
      if (!lane || this.queue.length === 0) break;
      if (this.queue.length < this.maxBatch && Date.now() - this.queue[0]!.at < this.lingerMs)
        break;
      void this.flush(lane);
    }
    this.schedule();
  }

  private async ensureConnected(lane: Lane): Promise<void> {
    lane.connected ??= lane.producer.connect().catch((err: unknown) => {
      lane.connected = undefined;
      throw err;
    });
    return lane.connected;
  }

  /** Takes the next batch off the queue (synchronously) and sends it on `lane`. */
  private async flush(lane: Lane): Promise<void> {
    let take = 0;
    let bytes = 0;
    while (take < this.queue.length && take < this.maxBatch) {
      bytes += this.queue[take]!.bytes;
      if (take > 0 && bytes > MAX_BATCH_BYTES) break;
      take++;
    }
    const batch = this.queue.splice(0, take);
    const group = batch[batch.length - 1]!.record.group;
    const split =
      group !== undefined && this.queue.length > 0 && this.queue[0]!.record.group === group;
    if (split) this.barrier = true;
    lane.busy = true;
    this.flushing++;
    this.inFlight += batch.length;
    const started = Date.now();
    try {
      await this.ensureConnected(lane);
      await lane.producer.sendBatch({
        topicMessages: toTopicMessages(batch.map((p) => p.record)),
        acks: -1,
      });
      this.options.onBatch?.(batch.length, Date.now() - started, true);
      for (const p of batch) p.resolve();
    } catch (err) {
      this.options.onBatch?.(batch.length, Date.now() - started, false);
      if (tooLarge(err)) {
        // A record the topic can never take: refuse it (HTTP 413 at ingress) and send the others
        // of its batch one by one, in order, instead of failing them all on every retry.
        await this.sendEachAlone(lane, batch);
        return;
      }
      this.options.logger.warn('produce failed', { records: batch.length, error: err });
      const e = new BusUnavailableError(
        `event bus did not acknowledge the event: ${(err as Error).message}`,
        err,
      );
      for (const p of batch) p.reject(e);
    } finally {
      this.inFlight -= batch.length;
      for (const p of batch) this.bytes -= p.bytes;
      this.flushing--;
      lane.busy = false;
      if (split) this.barrier = false;
      this.schedule();
    }
  }

  private async sendEachAlone(lane: Lane, batch: Pending[]): Promise<void> {
    for (const p of batch) {
      try {
        await lane.producer.sendBatch({ topicMessages: toTopicMessages([p.record]), acks: -1 });
        p.resolve();
      } catch (err) {
        p.reject(
          tooLarge(err)
            ? new RecordTooLargeError(p.bytes)
            : new BusUnavailableError(
                `event bus did not acknowledge the event: ${(err as Error).message}`,
                err,
              ),
        );
      }
    }
  }

  /** Sends what is queued, then disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    this.lingerNow();
    while (this.queue.length > 0 || this.flushing > 0) {
      const lane = this.freeLane();
      if (lane && this.queue.length > 0) void this.flush(lane);
      else await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(this.lanes.map((l) => l.producer.disconnect().catch(() => undefined)));
  }

  private lingerNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
  }
}
