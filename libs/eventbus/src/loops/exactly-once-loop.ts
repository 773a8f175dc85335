import { setTimeout as sleep } from 'node:timers/promises';
import {
  Partitioners,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import { chunkByBytes, toTopicMessages, type OutRecord } from '../producer/batching-producer.js';
import type { ConsumedBatch, LoopBase } from './consume-loop.js';
import { IDLE_FETCH_WAIT_MS, kafkaSecurity, TRANSACTION_RETRY } from '../client/client.js';
import {
  StableOffsetReader,
  StableOffsetsUnsupportedError,
} from '../transactions/stable-offsets.js';
import { restartCrashedConsumer } from './consumer-restart.js';

type Transaction = Awaited<ReturnType<Producer['transaction']>>;

/**
 * `sendOffsets` of a transaction, retrying CONCURRENT_TRANSACTIONS. Its AddOffsetsToTxn can be
 * the transaction's first request (it goes out beside the records, see
 * {@link sendOutputAndOffsets}) and reach the coordinator while the previous transaction's
 * markers are still being written; kafkajs does not retry it there (the patch retries
 * AddPartitionsToTxn), so the transaction would fail and the partition be reopened for nothing.
 */
export async function sendOffsets(
  txn: Transaction,
  offsets: Parameters<Transaction['sendOffsets']>[0],
): Promise<void> {
  for (
    let attempt = 0, wait: number = TRANSACTION_RETRY.initialRetryTime;
    ;
    attempt++, wait = Math.min(wait * TRANSACTION_RETRY.multiplier, TRANSACTION_RETRY.maxRetryTime)
  ) {
    try {
      await txn.sendOffsets(offsets);
      return;
    } catch (err) {
      if (
        (err as { type?: unknown }).type !== 'CONCURRENT_TRANSACTIONS' ||
        attempt >= TRANSACTION_RETRY.retries
      )
        throw err;
      await sleep(wait);
    }
  }
}

/**
 * The output records (in ≤ 512 KiB produce requests) and the input offsets of one transaction,
 * sent together: AddPartitionsToTxn → Produce and AddOffsetsToTxn → TxnOffsetCommit do not
 * depend on each other until EndTxn, so the transaction waits for three round trips instead of
 * five. Settles only when both are done (no abort while a request is in flight); throws the first
 * failure.
 */
export async function sendOutputAndOffsets(
  txn: Transaction,
  records: OutRecord[],
  offsets: Parameters<Transaction['sendOffsets']>[0],
): Promise<void> {
  const steps = await Promise.allSettled([
    (async () => {
      for (const chunk of chunkByBytes(records))
        await txn.sendBatch({ topicMessages: toTopicMessages(chunk), acks: -1 });
    })(),
    sendOffsets(txn, offsets),
  ]);
  for (const step of steps) if (step.status === 'rejected') throw step.reason;
}

/** An input partition this replica owns, once its previous owner has been fenced. */
export interface PartitionContext {
  topic: string;
  partition: number;
  /**
   * Produces records in one committed transaction of this partition's producer (no offsets).
   * Used at open time, e.g. to write a barrier into a changelog and wait until it is read back.
   */
  produce(records: OutRecord[]): Promise<void>;
}

/** What a transaction did (instrumentation hook: metrics and tracing hang here). */
export interface TransactionInfo {
  topic: string;
  partition: number;
  /** Consumed records in the batch. */
  inputs: number;
  /** Produced records. */
  outputs: number;
  /** Processing time (ms), then the transaction's time (ms). */
  processMs: number;
  commitMs: number;
  ok: boolean;
  error?: unknown;
}

/**
 * The processing of one owned input partition. `process` may keep per-partition state in memory
 * and mutate it; when the transaction carrying its output fails, `close` is called and the
 * state must be dropped: `open` restores it again from durable storage before the batch is
 * processed anew.
 */
export interface PartitionProcessor {
  /** Called after the previous owner was fenced and before the first batch is processed. */
  open?(ctx: PartitionContext): Promise<void>;
  /**
   * The records to produce for a batch, in order. The one place a message is processed.
   * Synchronous on purpose: a failed transaction of an earlier batch closes the partition at any
   * time between batches, and a state mutation must never interleave with that close or with
   * the restore of the reopened partition.
   */
  process(batch: ConsumedBatch): OutRecord[];
  /**
   * Asynchronous lookups a batch needs before `process` (a schema from a registry, say); it
   * must not touch partition state. When it rejects, the batch is left unresolved and fetched
   * again after a second.
   */
  prepare?(batch: ConsumedBatch): Promise<void>;
  /** The partition was revoked, or its transaction failed: drop its in-memory state. */
  close?(topic: string, partition: number): void;
}

interface ExactlyOnceLoopOptions extends LoopBase {
  processor: PartitionProcessor;
  /** Transactional ids are `<prefix>-<topic>-<partition>` (default prefix: the group id). */
  transactionalIdPrefix?: string;
  /** Partitions processed concurrently by this replica (default 4). */
  concurrency?: number;
  /** Transaction timeout (ms, default 30 000): how long a crashed owner's transaction can block readers at most. */
  transactionTimeoutMs?: number;
  /** Group session timeout (ms, default 6 000): how soon a killed replica's partitions move. */
  sessionTimeoutMs?: number;
  onTransaction?: (info: TransactionInfo) => void;
  /** Longest a fetch waits at the broker for new committed data (ms, default 100). */
  maxWaitMs?: number;
  /**
   * Output records that may wait for the transaction in flight before the next batch of the
   * partition waits for it too (default 5 000): bounds memory while commits fall behind.
   */
  maxPendingRecords?: number;
  /**
   * Least time between the starts of two transactions of one partition (ms, default 0). Each
   * transaction costs the broker the same whatever it carries (coordinator log writes, markers
   * on every partition it touched, the offset commit), so a busy partition committing
   * back-to-back spends broker CPU per transaction, not per record; a short interval lets
   * batches accumulate into fewer transactions at the cost of that much added latency.
   */
  commitIntervalMs?: number;
  /**
   * At most this many input records processed per second by this loop, all partitions together
   * (Argo's `limitEventsPerSecond`; default unlimited). A batch is processed up to the records
   * the rate admits within about a second; its rest is left unresolved and fetched again.
   */
  maxRecordsPerSecond?: number;
}

interface Pending {
  records: OutRecord[];
  /** Offset of the first input record, where processing resumes if the transaction fails. */
  first: string;
  /** The offset to commit: one past the last input record. */
  next: bigint;
  inputs: number;
  processMs: number;
}

interface Slot {
  key: string;
  topic: string;
  partition: number;
  producer: Producer;
  /** The committed offset was checked against the fetch position after fencing. */
  checked: boolean;
  /** Processed batches whose output waits for the next transaction. */
  pending: Pending | undefined;
  /** The transaction in flight (at most one per partition), committing earlier batches. */
  committing: Promise<void> | undefined;
  /** What that transaction carries. */
  inflight: Pending | undefined;
  /** A transaction failed or the partition was revoked: nothing more is processed or committed. */
  dead: boolean;
  /** One past the last input record this slot processed (committed or pending). */
  position: bigint | undefined;
  /** When the last transaction began (ms since the epoch). */
  lastCommitStart: number;
}

/**
 * Exactly-once consume → process → produce (docs/architecture.md §4), with kafkajs transactions.
 *
 * Every input partition has its own transactional producer, `transactional.id` =
 * `<prefix>-<topic>-<partition>`, the same in every replica. Whoever owns the partition after a
 * rebalance initialises that id, which bumps its epoch: the broker aborts the previous owner's
 * open transaction and rejects anything it still tries to send or commit (a zombie is fenced).
 * Only then does the new owner read the committed offset and restore state, so it starts from
 * exactly what the last successful transaction left. kafkajs 2.x has no KIP-447 (consumer group
 * metadata in `TxnOffsetCommit`), which is why one id per producer-per-input-partition is
 * needed instead of one per replica.
 *
 * Each batch: read_committed fetch → `process` → its output joins the partition's next
 * transaction (output records + `sendOffsets`). One transaction is in flight per partition;
 * batches processed while it commits are committed together by the next one (group commit), so
 * the fetch loop never waits for a commit and a transaction carries as many batches as arrived
 * during the previous one. If a transaction fails, the partition's in-memory state and every
 * batch processed after the last successful commit are dropped, and consumption resumes at the
 * first uncommitted input after the partition is fenced and restored again. Nothing is visible
 * to read_committed readers, nor is any offset committed, before its transaction commits.
 */
export class ExactlyOnceLoop {
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private stable: StableOffsetReader | undefined;
  private readonly slots = new Map<string, Promise<Slot>>();
  /** Partitions whose transaction failed: the first uncommitted input known then, by key. */
  private readonly rewind = new Map<string, string>();
  /**
   * Slots whose opening (fence + restore) finished, by key (the value of the settled promise in
   * `slots`); the others are still opening or failed.
   */
  private readonly ready = new Map<string, Slot>();
  /** The consumer crashed (e.g. the broker went away) since the last assignment. */
  private crashed = false;
  private generation = 0;
  private owned = new Set<string>();
  private stopping = false;
  private stopRequested!: () => void;
  /** Resolves when `stop` begins: a batch waiting for its partition to open gives up then. */
  private readonly stopSignal = new Promise<undefined>(
    (r) => (this.stopRequested = () => r(undefined)),
  );
  private joinedResolve!: () => void;
  /** Resolves when the consumer first joined its group. */
  readonly joined: Promise<void> = new Promise((r) => (this.joinedResolve = r));

  /** When the rate limit admits the next input record (epoch ms). */
  private nextPermitMs = 0;

  constructor(private readonly options: ExactlyOnceLoopOptions) {}

  /** How many assignments this replica has received (a consumer crash or rebalance adds one). */
  get assignments(): number {
    return this.generation;
  }

  /** Partitions (`topic:partition`) this replica owns in the current generation. */
  get assignment(): ReadonlySet<string> {
    return this.owned;
  }

  async start(): Promise<void> {
    const { kafka, groupId } = this.options;
    const admin = (this.admin = kafka.admin());
    await admin.connect();
    const security = kafkaSecurity(kafka);
    this.stable = new StableOffsetReader({
      brokers: async () =>
        (await admin.describeCluster()).brokers.map((b) => `${b.host}:${b.port}`),
      clientId: `${groupId}-offsets`,
      ...(security ? { security } : {}),
    });
    await this.startConsumer();
  }

  /**
   * Creates, subscribes and runs the consumer. kafkajs restarts a consumer that crashed with a
   * retriable error (or ran out of retries) by itself; after any other crash it stays down, so
   * the loop starts a new consumer (after a second) instead of leaving its partitions unprocessed.
   */
  private async startConsumer(): Promise<void> {
    const { kafka, groupId, topics } = this.options;
    const session = this.options.sessionTimeoutMs ?? 6_000;
    const consumer = kafka.consumer({
      groupId,
      readUncommitted: false,
      maxWaitTimeInMs: this.options.maxWaitMs ?? 100,
      maxIdleWaitTimeInMs: IDLE_FETCH_WAIT_MS,
      sessionTimeout: session,
      rebalanceTimeout: Math.max(session * 2, 12_000),
      // A fifth of the session: kafkajs heartbeats between fetches (1 s apart when idle), so a
      // tenth sent one with every idle fetch; a fifth halves them and still leaves four beats
      // of margin for a batch that holds the fetch loop.
      heartbeatInterval: Math.max(300, Math.floor(session / 5)),
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.onAssignment(e.payload.memberAssignment));
    consumer.on(consumer.events.CRASH, (e) => {
      this.crashed = true;
      if (e.payload.restart || this.stopping || this.consumer !== consumer) return;
      this.options.logger.error(
        'consumer stopped after an error kafkajs does not restart from; starting a new one',
        { error: e.payload.error },
      );
      restartCrashedConsumer(consumer, {
        logger: this.options.logger,
        what: 'consumer',
        fields: { topics },
        current: () => this.consumer,
        stopping: () => this.stopping,
        start: () => this.startConsumer(),
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.concurrency ?? 4,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  private onAssignment(assignment: Record<string, number[]>): void {
    this.generation++;
    const owned = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment))
      for (const p of partitions) owned.add(`${topic}:${p}`);
    this.owned = owned;
    this.options.logger.info('partitions assigned', {
      generation: this.generation,
      partitions: [...owned].sort(),
    });
    for (const key of [...this.slots.keys()])
      if (!owned.has(key)) void this.dropSlot(key, 'revoked');
    // After the consumer crashed (the broker went away), or for a slot still opening from an
    // earlier generation, start over: fence, restore and re-check offsets again. A slot whose
    // producer or restore got stuck during the outage would otherwise hold its partition forever.
    const restart = this.crashed;
    this.crashed = false;
    for (const key of [...this.slots.keys()])
      if (restart || !this.ready.has(key))
        void this.dropSlot(key, restart ? 'consumer restarted' : 'stale opening');
    // Fence the previous owners and restore state now, not at the first batch: a crashed
    // owner's open transaction blocks read_committed readers of its outputs until fenced.
    for (const key of owned) {
      const i = key.lastIndexOf(':');
      void this.slot(key.slice(0, i), Number(key.slice(i + 1))).catch(() => undefined);
    }
    this.joinedResolve();
  }

  private slot(topic: string, partition: number): Promise<Slot> {
    const key = `${topic}:${partition}`;
    let p = this.slots.get(key);
    if (!p) {
      p = this.openSlot(key, topic, partition);
      this.slots.set(key, p);
      const opening = p;
      p.then(
        (slot) => {
          if (this.slots.get(key) === opening) this.ready.set(key, slot);
        },
        () => undefined,
      );
      p.catch((err: unknown) => {
        if (this.slots.get(key) === p) this.slots.delete(key);
        this.options.logger.warn('could not open partition', { topic, partition, error: err });
      });
    }
    return p;
  }

  private async openSlot(key: string, topic: string, partition: number): Promise<Slot> {
    const prefix = this.options.transactionalIdPrefix ?? this.options.groupId;
    const producer = this.options.kafka.producer({
      transactionalId: `${prefix}-${topic}-${partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.options.transactionTimeoutMs ?? 30_000,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { ...TRANSACTION_RETRY },
    });
    try {
      await producer.connect();
      // InitProducerId (on the first transaction) fences the previous owner: its open
      // transaction is aborted and completed before this returns. The fencing transaction then
      // adds an offset of this partition and aborts: the abort marker it writes to the group's
      // offsets partition drops any offset commit of this transactional id still pending there
      // that no transaction owns any more. After a broker restart such an orphan answered every
      // require_stable read of the partition with UNSTABLE_OFFSET_COMMIT, for good, and the
      // partition was never processed again (docs/eventbus.md). The value sent is never
      // visible: the transaction is aborted.
      const fence = await producer.transaction();
      try {
        await sendOffsets(fence, {
          consumerGroupId: this.options.groupId,
          topics: [{ topic, partitions: [{ partition, offset: '0' }] }],
        });
      } finally {
        await fence.abort();
      }
      const ctx: PartitionContext = {
        topic,
        partition,
        produce: async (records) => {
          const txn = await producer.transaction();
          try {
            await txn.sendBatch({ topicMessages: toTopicMessages(records), acks: -1 });
            await txn.commit();
          } catch (err) {
            await txn.abort().catch(() => undefined);
            throw err;
          }
        },
      };
      await this.options.processor.open?.(ctx);
    } catch (err) {
      this.options.processor.close?.(topic, partition);
      await producer.disconnect().catch(() => undefined);
      throw err;
    }
    return {
      key,
      topic,
      partition,
      producer,
      checked: false,
      pending: undefined,
      committing: undefined,
      inflight: undefined,
      dead: false,
      position: undefined,
      lastCommitStart: 0,
    };
  }

  private async dropSlot(key: string, why: string): Promise<void> {
    const p = this.slots.get(key);
    if (!p) return;
    this.slots.delete(key);
    const ready = this.ready.get(key);
    this.ready.delete(key);
    // Drop the in-memory state at once, before a new owner slot of this key can restore it.
    if (ready) this.retire(ready);
    const slot = ready ?? (await p.catch(() => undefined));
    if (!slot) return;
    if (!ready) this.retire(slot);
    // The transaction in flight ends either way (committed, or aborted by a fence): let it.
    await slot.committing?.catch(() => undefined);
    await slot.producer.disconnect().catch(() => undefined);
    this.options.logger.debug('partition closed', {
      topic: slot.topic,
      partition: slot.partition,
      why,
    });
  }

  /** Marks a slot dead (no more processing or commits) and drops its partition state. */
  private retire(slot: Slot): void {
    if (slot.dead) return;
    slot.dead = true;
    slot.pending = undefined;
    this.options.processor.close?.(slot.topic, slot.partition);
  }

  /**
   * The group's committed offset for a partition, read after its producer fenced the previous
   * owner: an OffsetFetch with `require_stable` (waits out a transaction still holding offsets
   * for it); on a broker without OffsetFetch v7, a plain read (exact on brokers with
   * KAFKA-17507, see docs/eventbus.md).
   */
  private async committedOffset(topic: string, partition: number): Promise<bigint | undefined> {
    if (this.stable) {
      try {
        return (
          await this.stable.fetch(
            this.options.groupId,
            topic,
            [partition],
            this.options.transactionTimeoutMs ?? 30_000,
          )
        ).get(partition);
      } catch (err) {
        if (!(err instanceof StableOffsetsUnsupportedError)) throw err;
        this.options.logger.warn(
          'the broker cannot read committed offsets with require_stable (OffsetFetch v7); using a plain read',
          { error: err.message },
        );
        this.stable = undefined;
      }
    }
    const res = await this.admin!.fetchOffsets({ groupId: this.options.groupId, topics: [topic] });
    const o = res
      .find((t) => t.topic === topic)
      ?.partitions.find((p) => p.partition === partition)?.offset;
    return o === undefined || BigInt(o) < 0n ? undefined : BigInt(o);
  }

  /**
   * The first batch of a newly opened partition: seeks (and says so) when the committed offset,
   * read after the fence, is not where this batch starts and should be.
   */
  private async checkPosition(slot: Slot, key: string, first: string): Promise<boolean> {
    // After fencing, the committed offset is final (read stably). A zombie may have committed
    // past the position this consumer fetched from before the fence: skip ahead. After a failed
    // transaction this consumer has fetched past what is committed: go back. (A committed
    // offset below the first record is otherwise normal: transaction markers take offsets.)
    const committed = await this.committedOffset(slot.topic, slot.partition);
    const rewind = this.rewind.get(key);
    this.rewind.delete(key);
    slot.checked = true;
    const target = committed ?? (rewind === undefined ? undefined : BigInt(rewind));
    if (
      target !== undefined &&
      (target > BigInt(first) || (rewind !== undefined && target < BigInt(first)))
    ) {
      this.options.logger.info('seeking to the committed offset', {
        topic: slot.topic,
        partition: slot.partition,
        from: first,
        to: target.toString(),
      });
      this.consumer?.seek({
        topic: slot.topic,
        partition: slot.partition,
        offset: target.toString(),
      });
      return true;
    }
    return false;
  }

  private async onBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const { topic, partition } = batch;
    const key = `${topic}:${partition}`;
    if (!this.owned.has(key)) return;
    const first = batch.messages[0]!.offset;
    let slot: Slot;
    try {
      // Opening may wait long (a restore after the broker came back); shutdown does not wait
      // for it: kafkajs's consumer.stop() waits for this batch.
      const opened = await Promise.race([this.slot(topic, partition), this.stopSignal]);
      if (!opened) return;
      slot = opened;
      if (!slot.checked && (await this.checkPosition(slot, key, first))) return;
    } catch (err) {
      // Opening the partition (fence, restore) or reading its committed offset failed, e.g.
      // while the broker comes back. Nothing was resolved: the batch is fetched again, and the
      // partition opened anew. Throwing instead would crash the consumer (kafkajs restarts it
      // once its retries are spent), costing every partition of this replica a rebalance.
      this.options.logger.warn('partition not ready; its batch is fetched again', {
        topic,
        partition,
        error: err,
      });
      await sleep(1_000);
      return;
    }
    const last = batch.messages[batch.messages.length - 1]!.offset;
    // Records this slot already processed come again when the consumer resumes from the
    // committed offset while later batches are still pending (a rebalance that keeps the
    // partition here): they are in this slot's state and output already.
    let messages = batch.messages;
    if (slot.position !== undefined && BigInt(first) < slot.position) {
      const from = slot.position;
      messages = messages.filter((m) => BigInt(m.offset) >= from);
      if (messages.length === 0) {
        resolveOffset(last);
        return;
      }
    }
    if (slot.dead) return;
    messages = await this.admit(messages);
    if (messages.length === 0 || !isRunning() || isStale() || slot.dead) return;
    if (this.options.processor.prepare) {
      try {
        await this.options.processor.prepare({ topic, partition, messages });
      } catch (err) {
        this.options.logger.warn('batch not prepared; it is fetched again', {
          topic,
          partition,
          error: err,
        });
        await sleep(1_000);
        return;
      }
      if (!isRunning() || isStale() || slot.dead) return;
    }
    const lastTaken = messages[messages.length - 1]!.offset;
    const t0 = Date.now();
    let out: OutRecord[];
    try {
      out = this.options.processor.process({ topic, partition, messages });
    } catch (err) {
      this.options.onTransaction?.({
        topic,
        partition,
        inputs: messages.length,
        outputs: 0,
        processMs: Date.now() - t0,
        commitMs: 0,
        ok: false,
        error: err,
      });
      this.fail(slot, messages[0]!.offset, err);
      await sleep(200);
      return;
    }
    const processMs = Date.now() - t0;
    if (slot.pending) {
      for (const r of out) slot.pending.records.push(r);
      slot.pending.next = BigInt(lastTaken) + 1n;
      slot.pending.inputs += messages.length;
      slot.pending.processMs += processMs;
    } else {
      slot.pending = {
        records: out,
        first: messages[0]!.offset,
        next: BigInt(lastTaken) + 1n,
        inputs: messages.length,
        processMs,
      };
    }
    slot.position = BigInt(lastTaken) + 1n;
    resolveOffset(lastTaken);
    if (!slot.committing) slot.committing = this.commitLoop(slot);
    else if (slot.pending.records.length >= (this.options.maxPendingRecords ?? 5_000))
      await slot.committing;
    await heartbeat();
  }

  /**
   * The first records of a batch that `maxRecordsPerSecond` admits: waits for each one's permit,
   * for about a second at most (at least one record is always taken), so a batch call stays
   * short (heartbeats) and the rest of the batch is fetched again.
   */
  private async admit(messages: KafkaMessage[]): Promise<KafkaMessage[]> {
    const rate = this.options.maxRecordsPerSecond;
    if (!rate || rate <= 0) return messages;
    const taken: KafkaMessage[] = [];
    const until = Date.now() + 1000;
    for (const m of messages) {
      const now = Date.now();
      const at = Math.max(now, this.nextPermitMs);
      if (taken.length > 0 && at > until) break;
      this.nextPermitMs = at + 1000 / rate;
      if (at > now) await sleep(at - now);
      if (this.stopping) break;
      taken.push(m);
    }
    return taken;
  }

  /** Commits the slot's pending output, one transaction at a time, until none is left. */
  private async commitLoop(slot: Slot): Promise<void> {
    const { topic, partition } = slot;
    try {
      const interval = this.options.commitIntervalMs ?? 0;
      while (slot.pending && !slot.dead) {
        const wait = slot.lastCommitStart + interval - Date.now();
        if (wait > 0) {
          await sleep(wait);
          if (!slot.pending || slot.dead) break;
        }
        const t1 = (slot.lastCommitStart = Date.now());
        const work = slot.pending;
        slot.pending = undefined;
        slot.inflight = work;
        const info = {
          topic,
          partition,
          inputs: work.inputs,
          outputs: work.records.length,
          processMs: work.processMs,
        };
        try {
          const txn = await slot.producer.transaction();
          try {
            await sendOutputAndOffsets(txn, work.records, {
              consumerGroupId: this.options.groupId,
              topics: [{ topic, partitions: [{ partition, offset: work.next.toString() }] }],
            });
            await txn.commit();
          } catch (err) {
            await txn.abort().catch(() => undefined);
            throw err;
          }
        } catch (err) {
          this.options.onTransaction?.({
            ...info,
            commitMs: Date.now() - t1,
            ok: false,
            error: err,
          });
          this.fail(slot, work.first, err);
          return;
        }
        this.options.onTransaction?.({ ...info, commitMs: Date.now() - t1, ok: true });
      }
    } finally {
      slot.committing = undefined;
      slot.inflight = undefined;
    }
  }

  /**
   * A batch or transaction failed: the in-memory state went ahead of what is durable. Drop it
   * with the producer and every uncommitted batch; the reopened slot fences again, restores
   * state and resumes at the committed offset.
   */
  private fail(slot: Slot, resumeAt: string, err: unknown): void {
    const { key, topic, partition } = slot;
    if (slot.dead) return;
    this.options.logger.warn(
      'transaction failed; the partition is reopened and its uncommitted batches processed again',
      { topic, partition, offset: resumeAt, error: err },
    );
    const earliest = [slot.inflight?.first, slot.pending?.first, resumeAt]
      .filter((o): o is string => o !== undefined)
      .reduce((a, b) => (BigInt(a) <= BigInt(b) ? a : b));
    const known = this.rewind.get(key);
    this.rewind.set(
      key,
      known !== undefined && BigInt(known) < BigInt(earliest) ? known : earliest,
    );
    this.retire(slot);
    if (this.ready.get(key) === slot) {
      void this.dropSlot(key, 'transaction failed');
      if (this.owned.has(key)) void this.slot(topic, partition).catch(() => undefined);
    }
  }

  /** Commits what every partition has processed (used at shutdown, after the consumer stopped). */
  private async drain(): Promise<void> {
    await Promise.all(
      [...this.ready.values()].map(async (slot) => {
        while (slot.committing) await slot.committing.catch(() => undefined);
        if (slot.pending && !slot.dead) await (slot.committing = this.commitLoop(slot));
      }),
    );
  }

  /**
   * Graceful shutdown: finishes the batch in flight and commits everything processed, then
   * leaves the group and closes the producers.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopRequested();
    await this.consumer?.stop().catch(() => undefined);
    await this.drain();
    await this.consumer?.disconnect().catch(() => undefined);
    // Partitions still opening (fencing, restoring) have nothing to commit: not waited for.
    for (const [key, p] of [...this.slots]) {
      if (this.ready.has(key)) continue;
      this.slots.delete(key);
      void p
        .then((slot) => {
          this.retire(slot);
          return slot.producer.disconnect();
        })
        .catch(() => undefined);
    }
    await Promise.all([...this.slots.keys()].map((k) => this.dropSlot(k, 'shutdown')));
    await this.admin?.disconnect().catch(() => undefined);
  }
}
