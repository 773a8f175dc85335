import type { Consumer, Kafka } from 'kafkajs';

/** A batch a consumer of this process is processing right now. */
interface BusyBatch {
  group: string;
  topic: string;
  partition: number;
  /** How long it has been in processing (ms). */
  ms: number;
}

/** What a registered source reports: work in processing, or a partition parked by design. */
interface SourceEntry extends BusyBatch {
  /**
   * The partition waits by design (an action in backoff or held by a rate limit, and the
   * records behind it): progress, not a stall; it hides the partition's batch in processing.
   */
  parked?: boolean;
}

interface Entry {
  group: string;
  topic: string;
  partition: number;
  started: number;
  consumer: Consumer;
}

/**
 * Which batches the process's consumers are processing and since when, from the Kafka
 * client's instrumentation events (start/end of batch processing) of every consumer created
 * by a watched client — the consume loops need no bookkeeping of their own. A batch that
 * stays in processing means a consumer with records to handle that makes no progress (a
 * stuck handler, a hung target, a transaction that never commits): the liveness rule of
 * docs/architecture.md §6. An idle consumer has no batch in processing.
 */
export class ConsumerActivity {
  private readonly inFlight = new Map<string, Entry>();
  private readonly watched = new WeakSet<Kafka>();
  private readonly sources = new Set<(now: number) => SourceEntry[]>();

  /**
   * Adds work in processing that the client's batch events cannot see (a loop that hands
   * records off and completes them later reports its oldest unfinished one); returns the
   * function that removes the source.
   */
  register(source: (now: number) => SourceEntry[]): () => void {
    this.sources.add(source);
    return () => this.sources.delete(source);
  }

  /** Tracks every consumer `kafka.consumer(...)` creates from now on. */
  watch(kafka: Kafka): Kafka {
    if (this.watched.has(kafka)) return kafka;
    this.watched.add(kafka);
    const create = kafka.consumer.bind(kafka);
    kafka.consumer = ((config: Parameters<Kafka['consumer']>[0]) => {
      const consumer = create(config);
      this.track(consumer, config.groupId);
      return consumer;
    }) as Kafka['consumer'];
    return kafka;
  }

  private track(consumer: Consumer, group: string): void {
    const e = consumer.events;
    consumer.on(e.START_BATCH_PROCESS, ({ payload }) => {
      this.inFlight.set(`${group}|${payload.topic}|${payload.partition}`, {
        group,
        topic: payload.topic,
        partition: payload.partition,
        started: Date.now(),
        consumer,
      });
    });
    consumer.on(e.END_BATCH_PROCESS, ({ payload }) => {
      this.inFlight.delete(`${group}|${payload.topic}|${payload.partition}`);
    });
    // A batch abandoned by a crash, a rebalance or a stop is no longer in processing.
    const clear = (): void => {
      for (const [key, entry] of this.inFlight)
        if (entry.consumer === consumer) this.inFlight.delete(key);
    };
    for (const ev of [e.CRASH, e.REBALANCING, e.GROUP_JOIN, e.STOP, e.DISCONNECT])
      consumer.on(ev as typeof e.STOP, clear);
  }

  /** The batches in processing, oldest first. */
  busy(now = Date.now()): BusyBatch[] {
    const byKey = new Map<string, BusyBatch>();
    const add = (b: BusyBatch): void => {
      const key = `${b.group}|${b.topic}|${b.partition}`;
      const prev = byKey.get(key);
      if (!prev || prev.ms < b.ms) byKey.set(key, b);
    };
    const parked = new Set<string>();
    const reported: BusyBatch[] = [];
    for (const source of this.sources)
      for (const { parked: p, ...b } of source(now))
        if (p) parked.add(`${b.group}|${b.topic}|${b.partition}`);
        else reported.push(b);
    for (const e of this.inFlight.values())
      if (!parked.has(`${e.group}|${e.topic}|${e.partition}`))
        add({ group: e.group, topic: e.topic, partition: e.partition, ms: now - e.started });
    for (const b of reported) add(b);
    return [...byKey.values()].sort((a, b) => b.ms - a.ms);
  }
}

/** The process-wide tracker (GanglionModule watches the process's Kafka clients with it). */
export const consumerActivity = new ConsumerActivity();
