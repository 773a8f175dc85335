import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '@ganglion/telemetry';
import { consumerActivity } from './consumer-activity.js';
import { restartCrashedConsumer } from './consumer-restart.js';
import { IDLE_FETCH_WAIT_MS } from '../client/client.js';

interface PipelinedLoopOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  logger: Logger;
  /** Start a new group at the topics' beginning (default true: lose nothing). */
  fromBeginning?: boolean;
  /**
   * Admits one message. Resolves once the message is accepted (it may wait: that is the
   * backpressure, consumption slows while it does), with `done`, a promise that settles once
   * the message's effects are durable. Messages are admitted in partition order; their effects may
   * complete in any order. `parked`, when given, tells whether the message waits by design (a
   * retry's backoff, a rate limit): while the partition's oldest unfinished message is parked, the
   * partition counts as making progress (the liveness rule).
   */
  admit: (
    message: KafkaMessage,
    topic: string,
    partition: number,
  ) => Promise<{ done: Promise<void>; parked?: () => boolean }>;
  /** How often completed offsets are committed (ms, default 200). */
  commitIntervalMs?: number;
  /**
   * Longest a fetch waits at the broker for new committed data (ms, default 10). A read_committed
   * fetch of a topic written in transactions may wait this long after a commit made records
   * visible, so it bounds the latency the hop adds.
   */
  maxWaitMs?: number;
}

/** Offsets of one partition in flight, in order; the committable offset is the first unfinished one. */
class PartitionTrack {
  private readonly offsets: bigint[] = [];
  private readonly done = new Set<bigint>();
  private readonly parked = new Map<bigint, () => boolean>();
  /** Next offset to commit (one past the last finished prefix), once something finished. */
  committable: bigint | undefined;
  committed: bigint | undefined;
  /** Since when the partition has had records in flight without its finished prefix moving (ms). */
  since = 0;

  add(offset: bigint, parked?: () => boolean): void {
    if (this.offsets.length === 0) this.since = Date.now();
    this.offsets.push(offset);
    if (parked) this.parked.set(offset, parked);
  }

  /** True while the oldest unfinished message waits by design; its waiting counts as progress. */
  oldestParked(now: number): boolean {
    const oldest = this.offsets.find((o) => !this.done.has(o));
    const parked = oldest !== undefined && this.parked.get(oldest)?.() === true;
    if (parked) this.since = now;
    return parked;
  }

  finish(offset: bigint): void {
    this.done.add(offset);
    this.parked.delete(offset);
    const before = this.offsets.length;
    while (this.offsets.length > 0 && this.done.has(this.offsets[0]!)) {
      const o = this.offsets.shift()!;
      this.done.delete(o);
      this.committable = o + 1n;
    }
    if (this.offsets.length !== before) this.since = Date.now();
  }

  get inFlight(): number {
    return this.offsets.length;
  }
}

/**
 * At-least-once consumption with out-of-order completion: each message is admitted in
 * partition order and handed off, so a slow message does not hold up the ones behind it; the
 * offset committed per partition is the end of the contiguous prefix whose effects are durable.
 * A crash re-delivers at most the messages in flight (and those after the oldest unfinished
 * one). While admission waits, the loop keeps the group session alive with heartbeats.
 */
export class PipelinedLoop {
  private consumer: Consumer | undefined;
  private readonly tracks = new Map<string, PartitionTrack>();
  private timer: NodeJS.Timeout | undefined;
  private committing: Promise<void> = Promise.resolve();
  private generation = 0;
  private unregister: (() => void) | undefined;
  private stopping = false;
  private joinedResolve!: () => void;
  /** Resolves when the consumer first joined its group. */
  readonly joined: Promise<void> = new Promise((r) => (this.joinedResolve = r));

  constructor(private readonly options: PipelinedLoopOptions) {}

  /** Messages admitted whose effects are not yet durable. */
  get inFlight(): number {
    let n = 0;
    for (const t of this.tracks.values()) n += t.inFlight;
    return n;
  }

  async start(): Promise<void> {
    const { kafka, groupId, topics, logger } = this.options;
    const consumer = kafka.consumer({
      groupId,
      readUncommitted: false,
      maxWaitTimeInMs: this.options.maxWaitMs ?? 10,
      maxIdleWaitTimeInMs: IDLE_FETCH_WAIT_MS,
      sessionTimeout: 15_000,
      // Kafka's default interval: a member still learns of a rebalance within 3 s, at a third
      // of the idle heartbeats of a 1 s interval.
      heartbeatInterval: 3_000,
    });
    this.consumer = consumer;
    // The liveness rule sees a partition whose oldest admitted record makes no progress as busy
    // (its batch ended long ago: records are handed off and complete later).
    this.unregister?.();
    this.unregister = consumerActivity.register((now) => {
      const out = [];
      for (const [key, t] of this.tracks) {
        if (t.inFlight === 0) continue;
        const [topic, partition] = key.split('\u0000') as [string, string];
        const parked = t.oldestParked(now);
        out.push({
          group: groupId,
          topic,
          partition: Number(partition),
          ms: now - t.since,
          parked,
        });
      }
      return out;
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      // A new generation: offsets tracked for partitions we may no longer own are dropped;
      // their messages are re-delivered to whoever owns them now.
      this.generation++;
      this.tracks.clear();
      this.joinedResolve();
    });
    // kafkajs restarts a consumer after retriable errors by itself; after any other crash the
    // loop starts a new consumer (retrying while the broker is away) instead of stopping for good.
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart || this.stopping || this.consumer !== consumer) return;
      logger.error(
        'consumer stopped after an error kafkajs does not restart from; starting a new one',
        { topics, error: e.payload.error },
      );
      restartCrashedConsumer(consumer, {
        logger,
        what: 'consumer',
        fields: { topics },
        current: () => this.consumer,
        stopping: () => this.stopping,
        start: () => this.start(),
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning ?? true });
    // A commit armed for the consumer this one replaces has nothing left to do: the offsets it
    // tracked are dropped when this consumer joins (GROUP_JOIN above) and redelivered to the
    // partitions' owners. Firing it while this consumer joins would only fail a commit.
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        const key = `${batch.topic}\u0000${batch.partition}`;
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break;
          const admission = this.options.admit(message, batch.topic, batch.partition);
          let settled = false;
          admission.then(
            () => (settled = true),
            () => (settled = true),
          );
          // Keep the session alive while admission waits (backpressure). Admission usually
          // settles at once: a timer is only armed when it does not.
          await Promise.resolve();
          while (!settled) {
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([
              admission.catch(() => undefined),
              new Promise((r) => (timer = setTimeout(r, 500))),
            ]);
            clearTimeout(timer);
            if (!settled) await heartbeat();
          }
          let done: Promise<void>;
          let parked: (() => boolean) | undefined;
          try {
            ({ done, parked } = await admission);
          } catch (err) {
            // Not admitted (shutting down): leave it unresolved; it is fetched again.
            logger.debug('message not admitted', {
              topic: batch.topic,
              partition: batch.partition,
              offset: message.offset,
              error: err,
            });
            break;
          }
          const generation = this.generation;
          let track = this.tracks.get(key);
          if (!track) this.tracks.set(key, (track = new PartitionTrack()));
          const offset = BigInt(message.offset);
          track.add(offset, parked);
          const t = track;
          done.then(
            () => {
              if (generation !== this.generation) return;
              t.finish(offset);
              this.scheduleCommit();
            },
            (err: unknown) =>
              logger.error(
                "a message's effects did not become durable; its offset stays uncommitted",
                {
                  topic: batch.topic,
                  partition: batch.partition,
                  offset: message.offset,
                  error: err,
                },
              ),
          );
          resolveOffset(message.offset);
          await heartbeat();
        }
      },
    });
  }

  /**
   * Arms the commit timer (`commitIntervalMs`, default 200 ms) when something finished and no
   * commit is scheduled: an idle loop sets no timer at all (a fixed interval woke every idle
   * trigger five times a second for nothing to commit).
   */
  private scheduleCommit(): void {
    if (this.timer || this.stopping) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.commit();
    }, this.options.commitIntervalMs ?? 200);
  }

  /** Commits every partition's finished prefix that moved since the last commit. */
  commit(): Promise<void> {
    this.committing = this.committing.then(async () => {
      const consumer = this.consumer;
      if (!consumer) return;
      const offsets: { topic: string; partition: number; offset: string }[] = [];
      const moved: [PartitionTrack, bigint][] = [];
      for (const [key, t] of this.tracks) {
        if (t.committable === undefined || t.committable === t.committed) continue;
        const [topic, partition] = key.split('\u0000') as [string, string];
        offsets.push({ topic, partition: Number(partition), offset: t.committable.toString() });
        moved.push([t, t.committable]);
      }
      if (offsets.length === 0) return;
      try {
        await consumer.commitOffsets(offsets);
        for (const [t, o] of moved) t.committed = o;
      } catch (err) {
        this.options.logger.debug('offset commit failed (rebalance?); will retry', { error: err });
        this.scheduleCommit();
      }
    });
    return this.committing;
  }

  /** Stops fetching, commits what finished, and leaves the group. Effects still running are not awaited. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unregister?.();
    this.unregister = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.commit();
    await this.consumer?.stop().catch(() => undefined);
    await this.commit();
    await this.consumer?.disconnect().catch(() => undefined);
    this.consumer = undefined;
  }
}
