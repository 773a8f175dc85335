import { setTimeout as sleep } from 'node:timers/promises';
import {
  Partitioners,
  type Admin,
  type Consumer,
  type ConsumerGroupMetadata,
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
type TransactionOffsets = Parameters<Transaction['sendOffsets']>[0];

/**
 * The output records (in ≤ 512 KiB produce requests) and the input offsets of one transaction,
 * sent together: AddPartitionsToTxn → Produce and AddOffsetsToTxn → TxnOffsetCommit do not
 * depend on each other until EndTxn, so the transaction waits for three round trips instead of
 * five. Settles only when both are done (no abort while a request is in flight); throws the first
 * failure. Either add may be the transaction's first request and reach the coordinator while the
 * previous transaction's markers are still being written: the kafkajs patch retries
 * CONCURRENT_TRANSACTIONS on both in place.
 */
export async function sendOutputAndOffsets(
  txn: Transaction,
  records: OutRecord[],
  offsets: TransactionOffsets,
): Promise<void> {
  const steps = await Promise.allSettled([
    (async () => {
      for (const chunk of chunkByBytes(records))
        await txn.sendBatch({ topicMessages: toTopicMessages(chunk), acks: -1 });
    })(),
    txn.sendOffsets(offsets),
  ]);
  for (const step of steps) if (step.status === 'rejected') throw step.reason;
}

/** One transaction of `producer`: `fill` sends its content, then it commits; aborted if either fails. */
async function runTransaction(
  producer: Producer,
  fill: (txn: Transaction) => Promise<void>,
): Promise<void> {
  const txn = await producer.transaction();
  try {
    await fill(txn);
    await txn.commit();
  } catch (err) {
    await txn.abort().catch(() => undefined);
    throw err;
  }
}

/**
 * An input partition this replica owns, once its previous owner can no longer commit (fenced,
 * or its transaction holding the partition's offsets completed: see {@link ExactlyOnceLoop}).
 */
export interface PartitionContext {
  topic: string;
  partition: number;
  /**
   * Produces records in one committed transaction (no offsets): of this partition's producer,
   * or in `replica` scope of the replica's producer, between two group commits.
   * Used at open time, e.g. to write a barrier into a changelog and wait until it is read back.
   */
  produce(records: OutRecord[]): Promise<void>;
}

/** What one input partition contributed to a transaction. */
interface TransactionPart {
  topic: string;
  partition: number;
  /** Consumed records of the partition the transaction carried (its batches since the last one). */
  inputs: number;
  /** Records produced for them. */
  outputs: number;
}

/**
 * What a transaction did (instrumentation hook: metrics and tracing hang here), reported once
 * per transaction. A batch whose `process` threw is reported too, as a failed transaction of its
 * one partition that was never sent (`commitMs` 0).
 */
export interface TransactionInfo {
  /** The input partitions it carried: one in `partition` scope, any number in `replica` scope. */
  parts: TransactionPart[];
  /** Consumed and produced records, every part together. */
  inputs: number;
  outputs: number;
  /** Processing time of the batches it carried (ms, summed), then the transaction's time (ms). */
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

/**
 * What one transaction covers: an input partition (its own transactional producer, fenced by
 * the next owner; works with any broker and needs no KIP-447), or everything this replica
 * processes (one producer, KIP-447 offset commits checked against the consumer's generation;
 * Kafka ≥ 2.5). See {@link ExactlyOnceLoop}.
 */
export type TransactionScope = 'partition' | 'replica';

/**
 * The transaction scope, and the replica's identity that `replica` scope needs: no default here
 * (two loops defaulting to one host name would share a transactional id and fence each other);
 * the service's config gives it (`GANGLION_INSTANCE_ID`, default the host name).
 */
type ExactlyOnceScopeOptions =
  | {
      /** One transaction per input partition (the default). */
      transactionScope?: 'partition';
      /** Not used in `partition` scope. */
      instanceId?: string;
    }
  | {
      /** One transaction for the whole replica. */
      transactionScope: 'replica';
      /**
       * This replica's identity, unique in the group: keep it stable across a restart of the
       * same pod (`GANGLION_INSTANCE_ID`). A restarted replica with the same id fences its
       * predecessor's open transaction at once; with another id that transaction blocks
       * read_committed readers of its outputs, and the next owners of its partitions, until the
       * transaction timeout.
       */
      instanceId: string;
    };

type ExactlyOnceLoopOptions = ExactlyOnceLoopSettings & ExactlyOnceScopeOptions;

interface ExactlyOnceLoopSettings extends LoopBase {
  processor: PartitionProcessor;
  /**
   * Transactional ids are `<prefix>-<topic>-<partition>` in `partition` scope,
   * `<prefix>-<instanceId>` in `replica` scope (default prefix: the group id).
   */
  transactionalIdPrefix?: string;
  /** Partitions processed concurrently by this replica (default 4). */
  concurrency?: number;
  /** Transaction timeout (ms, default 30 000): how long a crashed owner's transaction can block readers at most. */
  transactionTimeoutMs?: number;
  /** Group session timeout (ms, default 6 000): how soon a killed replica's partitions move. */
  sessionTimeoutMs?: number;
  /** Called once per transaction, committed or failed (instrumentation; a throw is logged). */
  onTransaction?: (info: TransactionInfo) => void;
  /** Longest a fetch waits at the broker for new committed data (ms, default 100). */
  maxWaitMs?: number;
  /**
   * Output records that may wait for the transaction in flight before the next batch of the
   * partition waits for it too (default 5 000): bounds memory while commits fall behind.
   */
  maxPendingRecords?: number;
  /**
   * Least time between the starts of two transactions of one partition (of the replica in
   * `replica` scope; ms, default 0). Each
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

/**
 * Commits pending output, one transaction at a time: a partition's (`partition` scope) or the
 * replica's, shared by all its partitions (`replica` scope).
 */
interface Committer {
  /** The slots with output to commit now. */
  due(): Slot[];
  /** Runs one transaction (serialized with every other use of the producer). */
  transact(fill: (txn: Transaction) => Promise<void>): Promise<void>;
  /** Group metadata for TxnOffsetCommit v3 (`replica` scope), else none (v1). */
  member(): ConsumerGroupMetadata | undefined;
  /** The commit loop, while it runs. */
  running: Promise<void> | undefined;
  /** Resolves when the transaction in flight (or the loop) ends. */
  turn: Promise<void>;
  endTurn: () => void;
  /** When the last transaction began (ms since the epoch). */
  lastCommitStart: number;
}

interface Slot {
  key: string;
  topic: string;
  partition: number;
  /** The partition's own producer (`partition` scope); undefined in `replica` scope. */
  producer: Producer | undefined;
  /** Commits the slot's output: its own, or the replica's. */
  committer: Committer;
  /** The committed offset, read stably at opening (`replica` scope), else read at the first batch. */
  committedAtOpen: { offset: bigint | undefined } | undefined;
  /** The committed offset was checked against the fetch position after fencing. */
  checked: boolean;
  /** Processed batches whose output waits for the next transaction. */
  pending: Pending | undefined;
  /** What the transaction in flight carries of this partition. */
  inflight: Pending | undefined;
  /** A transaction failed or the partition was revoked: nothing more is processed or committed. */
  dead: boolean;
  /** One past the last input record this slot processed (committed or pending). */
  position: bigint | undefined;
}

/**
 * Exactly-once consume → process → produce (docs/architecture.md §4), with kafkajs transactions,
 * in one of two scopes (`transactionScope`).
 *
 * **`partition` (default).** Every input partition has its own transactional producer,
 * `transactional.id` = `<prefix>-<topic>-<partition>`, the same in every replica. Whoever owns
 * the partition after a rebalance initialises that id, which bumps its epoch: the broker aborts
 * the previous owner's open transaction and rejects anything it still tries to send or commit
 * (a zombie is fenced). Only then does the new owner read the committed offset and restore
 * state, so it starts from exactly what the last successful transaction left. Works on any
 * broker, costs one transaction per partition.
 *
 * **`replica` (KIP-447).** One transactional producer for the replica, `transactional.id` =
 * `<prefix>-<instanceId>`, and one transaction in flight for all its partitions. Its offsets go
 * out in TxnOffsetCommit v3 (the kafkajs patch) with the consumer's group generation and member
 * id, so the group coordinator rejects the commit of a zombie (a replica whose partitions moved
 * in a rebalance it has not seen yet): ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID /
 * FENCED_INSTANCE_ID fail its transaction, which is aborted with its output. The new owner does
 * not fence anyone: it reads the committed offset with `require_stable`, which waits until a
 * previous owner's transaction still holding offsets of the partition has completed (a zombie
 * cannot add any once the generation moved on), and only then restores state, so it starts
 * from exactly what the last successful transaction left. A crashed replica's open transaction
 * is aborted at once when the same `instanceId` starts again (InitProducerId), else after the
 * transaction timeout, and blocks its partitions' readers until then. Needs Kafka ≥ 2.5.
 *
 * Each batch: read_committed fetch → `process` → its output joins the next transaction of its
 * partition (or replica): output records + `sendOffsets`. One transaction is in flight per
 * partition (or replica); batches processed while it commits are committed together by the next
 * one (group commit, across partitions in `replica` scope), so the fetch loop never waits for a
 * commit and a transaction carries as many batches as arrived during the previous one. If a
 * transaction fails, every partition it carried drops its in-memory state and every batch
 * processed after the last successful commit, and resumes consuming at the first uncommitted
 * input after it is fenced (or its offset read stably) and restored again. Nothing is visible to
 * read_committed readers, nor is any offset committed, before its transaction commits.
 */
export class ExactlyOnceLoop {
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  /** `replica` scope: the commits of every partition, on one producer. */
  private readonly replica: Committer | undefined;
  /** `replica` scope: the shared producer's id, `<prefix>-<instanceId>`. */
  private readonly sharedTransactionalId: string | undefined;
  /** `replica` scope: the shared producer, created on first use and again after a failure. */
  private sharedProducer: Promise<Producer> | undefined;
  /** `replica` scope: every transaction of the shared producer runs after the previous one. */
  private transactions: Promise<unknown> = Promise.resolve();
  /** The consumer's group metadata since its last join (TxnOffsetCommit v3). */
  private member: ConsumerGroupMetadata | undefined;
  /** onBatch calls in progress (shutdown waits for them before the last commits). */
  private batchesInFlight = 0;
  /** Set by `stop()` while it waits for `batchesInFlight` to reach 0. */
  private batchesDone: (() => void) | undefined;
  private stable: StableOffsetReader | undefined;
  private readonly slots = new Map<string, Promise<Slot>>();
  /**
   * `replica` scope: the slots with pending output (`pending` set, not dead), what its
   * committer's `due()` walks instead of every ready slot. Added to where output is first
   * appended, removed where it is taken by a transaction or the slot is retired.
   */
  private readonly withPending = new Set<Slot>();
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
  /**
   * `replica` scope: the last commits are done (`stop()`); the shared producer is not opened
   * again, and a transaction asked of it now (a partition still opening) is refused.
   */
  private closed = false;
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

  constructor(private readonly options: ExactlyOnceLoopOptions) {
    if (options.transactionScope === 'replica') {
      // The type requires it; this catches an empty id (or an untyped caller).
      if (!options.instanceId) throw new Error("transactionScope 'replica' needs an instanceId");
      this.sharedTransactionalId = `${this.transactionalIdPrefix}-${options.instanceId}`;
      this.replica = newCommitter(
        () => {
          const due: Slot[] = [];
          for (const s of this.withPending) if (this.ready.get(s.key) === s) due.push(s);
          return due;
        },
        (fill) => this.sharedTransaction(fill),
        () => {
          if (!this.member) throw new Error('no consumer group metadata yet (not joined)');
          return this.member;
        },
      );
    }
  }

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
    if (this.replica)
      try {
        await this.stable.requireKip447();
      } catch (err) {
        await admin.disconnect().catch(() => undefined);
        throw new Error(
          `transactionScope 'replica' needs KIP-447: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
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
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.member = {
        generationId: e.payload.generationId,
        memberId: e.payload.memberId,
        groupInstanceId: null,
      };
      this.onAssignment(e.payload.memberAssignment);
    });
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
    // owner's open transaction blocks read_committed readers of its outputs until fenced. Not
    // once stopping: stop() closes the slots it finds after the consumer stopped, and would
    // leave one opened later open.
    if (!this.stopping)
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
        // At shutdown an opening is abandoned, and its `produce` refused (LoopStoppedError).
        const fields = { topic, partition, error: err };
        if (this.stopping) this.options.logger.debug('could not open partition', fields);
        else this.options.logger.warn('could not open partition', fields);
      });
    }
    return p;
  }

  private async openSlot(key: string, topic: string, partition: number): Promise<Slot> {
    let producer: Producer | undefined;
    try {
      if (this.replica) {
        // No fence: the previous owner's transaction holding offsets of this partition (if any)
        // is waited out by this read, and it can start no other once the generation moved on
        // (its TxnOffsetCommit v3 is rejected). Read before restoring: the state must include
        // what that transaction committed.
        const committed = await this.committedOffset(topic, partition);
        await this.openProcessor(topic, partition, (fill) => this.sharedTransaction(fill));
        return newSlot(key, topic, partition, undefined, this.replica, { offset: committed });
      }
      // InitProducerId (on the first transaction) fences the previous owner: its open
      // transaction is aborted and completed before this returns.
      const own = (producer = await this.openTransactionalProducer(
        `${this.transactionalIdPrefix}-${topic}-${partition}`,
        topic,
        partition,
      ));
      await this.openProcessor(topic, partition, (fill) => runTransaction(own, fill));
      const slot: Slot = newSlot(
        key,
        topic,
        partition,
        own,
        newCommitter(
          () => (slot.pending && !slot.dead ? [slot] : []),
          (fill) => runTransaction(own, fill),
          () => undefined,
        ),
        undefined,
      );
      return slot;
    } catch (err) {
      this.closeProcessor(topic, partition);
      await producer?.disconnect().catch(() => undefined);
      throw err;
    }
  }

  private get transactionalIdPrefix(): string {
    return this.options.transactionalIdPrefix ?? this.options.groupId;
  }

  /**
   * A transactional producer, connected, its id initialised (fencing the id's previous holder)
   * and its orphaned offset commit of `topic`/`partition` cleared (see
   * {@link clearOrphanedOffsets}); disconnected again if any of that fails.
   */
  private async openTransactionalProducer(
    transactionalId: string,
    topic: string,
    partition: number,
  ): Promise<Producer> {
    const producer = this.options.kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.options.transactionTimeoutMs ?? 30_000,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { ...TRANSACTION_RETRY },
    });
    try {
      await producer.connect();
      await this.clearOrphanedOffsets(producer, topic, partition);
      return producer;
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw err;
    }
  }

  /**
   * A transaction that adds an offset of `topic`/`partition` and aborts: the abort marker it
   * writes to the group's offsets partition drops any offset commit of this transactional id
   * still pending there that no transaction owns any more. After a broker restart such an orphan
   * answered every require_stable read of the partition with UNSTABLE_OFFSET_COMMIT, for good,
   * and the partition was never processed again (docs/eventbus.md). The value sent is never
   * visible: the transaction is aborted. As the producer's first transaction, it also fences
   * the previous holder of the transactional id.
   */
  private async clearOrphanedOffsets(
    producer: Producer,
    topic: string,
    partition: number,
  ): Promise<void> {
    const fence = await producer.transaction();
    try {
      await fence.sendOffsets({
        consumerGroupId: this.options.groupId,
        topics: [{ topic, partitions: [{ partition, offset: '0' }] }],
      });
    } finally {
      await fence.abort();
    }
  }

  /** Restores a partition's state (`open`), its `produce` a transaction of `transact`. */
  private async openProcessor(
    topic: string,
    partition: number,
    transact: Committer['transact'],
  ): Promise<void> {
    await this.options.processor.open?.({
      topic,
      partition,
      produce: (records) =>
        transact(async (txn) => {
          await txn.sendBatch({ topicMessages: toTopicMessages(records), acks: -1 });
        }),
    });
  }

  /**
   * `replica` scope: one transaction of the shared producer, after every earlier one. A failed
   * transaction replaces the producer: the new one's InitProducerId aborts whatever the failure
   * left open at once, so the reopened partitions' stable offset reads do not wait for the
   * transaction timeout, and a producer in an unknown transaction state is never reused.
   */
  private sharedTransaction(fill: (txn: Transaction) => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new LoopStoppedError());
    const run = this.transactions.then(async () => {
      const producer = await this.shared();
      try {
        await runTransaction(producer, fill);
      } catch (err) {
        this.sharedProducer = undefined;
        await producer.disconnect().catch(() => undefined);
        await this.shared().catch(() => undefined);
        throw err;
      }
    });
    this.transactions = run.catch(() => undefined);
    return run;
  }

  /**
   * The shared producer (`replica` scope), connected and initialised; opened on first use, never
   * once `stop()` has closed it.
   */
  private async shared(): Promise<Producer> {
    if (this.closed) throw new LoopStoppedError();
    if (!this.sharedProducer) {
      const opening = this.openTransactionalProducer(
        this.sharedTransactionalId!,
        this.options.topics[0]!,
        0,
      );
      this.sharedProducer = opening;
      opening.catch(() => {
        if (this.sharedProducer === opening) this.sharedProducer = undefined;
      });
    }
    return this.sharedProducer;
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
    if (slot.producer) {
      // The transaction in flight ends either way (committed, or aborted by a fence): let it.
      await slot.committer.running?.catch(() => undefined);
      await slot.producer.disconnect().catch(() => undefined);
    }
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
    this.withPending.delete(slot);
    this.closeProcessor(slot.topic, slot.partition);
  }

  /**
   * `processor.close`: user code, run in the middle of the loop's bookkeeping (a failed
   * transaction fails each partition it carried in turn). A throw is logged, not propagated: it
   * must not leave the partitions after it half-settled.
   */
  private closeProcessor(topic: string, partition: number): void {
    try {
      this.options.processor.close?.(topic, partition);
    } catch (error) {
      this.options.logger.error('processor.close threw', { topic, partition, error });
    }
  }

  /** `onTransaction` (instrumentation; a throw is logged, as in {@link closeProcessor}). */
  private report(info: TransactionInfo): void {
    try {
      this.options.onTransaction?.(info);
    } catch (error) {
      this.options.logger.error('onTransaction threw', {
        partitions: info.parts.map((p) => `${p.topic}:${p.partition}`),
        error,
      });
    }
  }

  /**
   * The group's committed offset for a partition, read after its producer fenced the previous
   * owner (`partition` scope) or in the new generation (`replica` scope): an OffsetFetch with
   * `require_stable` (waits out a transaction still holding offsets for it); on a broker without
   * OffsetFetch v7, a plain read in `partition` scope (exact on brokers with KAFKA-17507, see
   * docs/eventbus.md), an error in `replica` scope (such a broker has no KIP-447 either).
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
        if (!(err instanceof StableOffsetsUnsupportedError) || this.replica) throw err;
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
    // After fencing (or in the new generation), the committed offset is final (read stably). A
    // zombie may have committed past the position this consumer fetched from before: skip
    // ahead. After a failed transaction this consumer has fetched past what is committed: go
    // back. (A committed offset below the first record is otherwise normal: transaction markers
    // take offsets.)
    const committed = slot.committedAtOpen
      ? slot.committedAtOpen.offset
      : await this.committedOffset(slot.topic, slot.partition);
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

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    this.batchesInFlight++;
    try {
      await this.processBatch(payload);
    } finally {
      if (--this.batchesInFlight === 0) this.batchesDone?.();
    }
  }

  /**
   * Whether a batch may still be processed, checked again after each wait: the consumer runs
   * and the batch's fetch is not stale (a rebalance or seek since), no `stop()` began (its last
   * commits are under way), and the batch's slot, once known, is not dead.
   */
  private live({ isRunning, isStale }: EachBatchPayload, slot?: Slot): boolean {
    return isRunning() && !isStale() && !this.stopping && !slot?.dead;
  }

  private async processBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat } = payload;
    // Once stopping, no batch is processed, nor a partition opened for one (see onAssignment).
    if (batch.messages.length === 0 || !this.live(payload)) return;
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
    if (messages.length === 0 || !this.live(payload, slot)) return;
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
      if (!this.live(payload, slot)) return;
    }
    const lastTaken = messages[messages.length - 1]!.offset;
    const t0 = Date.now();
    let out: OutRecord[];
    try {
      out = this.options.processor.process({ topic, partition, messages });
    } catch (err) {
      this.report({
        parts: [{ topic, partition, inputs: messages.length, outputs: 0 }],
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
    const next = BigInt(lastTaken) + 1n;
    if (slot.pending) {
      for (const r of out) slot.pending.records.push(r);
      slot.pending.next = next;
      slot.pending.inputs += messages.length;
      slot.pending.processMs += processMs;
    } else {
      slot.pending = {
        records: out,
        first: messages[0]!.offset,
        next,
        inputs: messages.length,
        processMs,
      };
      if (this.replica) this.withPending.add(slot);
    }
    slot.position = next;
    resolveOffset(lastTaken);
    const { committer } = slot;
    if (!committer.running) void this.commit(committer);
    else if (slot.pending.records.length >= (this.options.maxPendingRecords ?? 5_000))
      await this.committed(slot, slot.pending);
    await heartbeat();
  }

  /** Waits until `work` (pending output of `slot`) is committed, or failed. */
  private async committed(slot: Slot, work: Pending): Promise<void> {
    while (
      !slot.dead &&
      (slot.pending === work || slot.inflight === work) &&
      slot.committer.running
    )
      await slot.committer.turn;
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

  /** Starts the committer's loop unless it runs. */
  private commit(c: Committer): Promise<void> {
    c.running ??= this.commitLoop(c)
      // Not expected (user callbacks are guarded): logged rather than left unhandled.
      .catch((error: unknown) => this.options.logger.error('commit loop failed', { error }))
      .finally(() => {
        c.running = undefined;
        endTurn(c);
      });
    return c.running;
  }

  /** Commits the pending output of the committer's slots, one transaction at a time, until none is left. */
  private async commitLoop(c: Committer): Promise<void> {
    const interval = this.options.commitIntervalMs ?? 0;
    for (let slots = c.due(); slots.length > 0; slots = c.due()) {
      const wait = c.lastCommitStart + interval - Date.now();
      if (wait > 0) await sleep(wait);
      else await this.commitOnce(c, slots);
    }
  }

  /**
   * One transaction: the output records and the next input offsets of every slot given (one in
   * `partition` scope), in TxnOffsetCommit v3 with the consumer's current generation in
   * `replica` scope. When it fails, every slot it carried fails (dropped and reopened).
   */
  private async commitOnce(c: Committer, slots: Slot[]): Promise<void> {
    const t1 = (c.lastCommitStart = Date.now());
    const carried = slots.map((slot) => {
      const work = slot.pending!;
      slot.pending = undefined;
      this.withPending.delete(slot);
      slot.inflight = work;
      return { slot, work };
    });
    // One slot (always in `partition` scope): its records and offset as they are, no copies.
    const only = carried.length === 1 ? carried[0]! : undefined;
    const records = only ? only.work.records : carried.flatMap(({ work }) => work.records);
    const topics = only
      ? [
          {
            topic: only.slot.topic,
            partitions: [{ partition: only.slot.partition, offset: only.work.next.toString() }],
          },
        ]
      : offsetsByTopic(carried);
    let failure: { error: unknown } | undefined;
    try {
      const member = c.member();
      await c.transact((txn) =>
        sendOutputAndOffsets(txn, records, {
          consumerGroupId: this.options.groupId,
          topics,
          ...(member ? { consumerGroupMetadata: member } : {}),
        }),
      );
    } catch (error) {
      failure = { error };
    }
    const commitMs = Date.now() - t1;
    if (this.options.onTransaction) {
      const info: TransactionInfo = {
        parts: [],
        inputs: 0,
        outputs: 0,
        processMs: 0,
        commitMs,
        ok: !failure,
      };
      for (const { slot, work } of carried) {
        const outputs = work.records.length;
        info.parts.push({
          topic: slot.topic,
          partition: slot.partition,
          inputs: work.inputs,
          outputs,
        });
        info.inputs += work.inputs;
        info.outputs += outputs;
        info.processMs += work.processMs;
      }
      if (failure) info.error = failure.error;
      this.report(info);
    }
    for (const { slot, work } of carried) {
      if (failure) this.fail(slot, work.first, failure.error);
      slot.inflight = undefined;
    }
    endTurn(c);
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
      // Not while stopping: the partition is about to be given up, and reopening it would open
      // a producer that shutdown no longer closes.
      if (this.owned.has(key) && !this.stopping)
        void this.slot(topic, partition).catch(() => undefined);
    }
  }

  /** Commits what every partition has processed (at shutdown, once no batch is processed any more). */
  private async drain(): Promise<void> {
    const committers = new Set([...this.ready.values()].map((slot) => slot.committer));
    await Promise.all(
      [...committers].map(async (c) => {
        while (c.running) await c.running.catch(() => undefined);
        if (c.due().length > 0) await this.commit(c).catch(() => undefined);
      }),
    );
  }

  /**
   * Graceful shutdown: finishes the batches in flight and commits everything processed while
   * the consumer is still a member of its generation (a TxnOffsetCommit v3 of a member that left
   * is rejected), then leaves the group and closes the producers.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopRequested();
    try {
      this.consumer?.pause(this.options.topics.map((topic) => ({ topic })));
    } catch {
      // not running (any more): nothing to pause
    }
    await this.batchesFinished();
    await this.drain();
    // Everything processed is committed, and nothing more is processed (processBatch checks
    // `stopping` right before it processes): the shared producer has no transaction left to run
    // but those of partitions still opening, which are refused from now on.
    this.closed = true;
    await this.consumer?.stop().catch(() => undefined);
    await this.consumer?.disconnect().catch(() => undefined);
    // Partitions still opening (fencing, restoring) have nothing to commit: not waited for.
    for (const [key, p] of [...this.slots]) {
      if (this.ready.has(key)) continue;
      this.slots.delete(key);
      void p
        .then((slot) => {
          this.retire(slot);
          return slot.producer?.disconnect();
        })
        .catch(() => undefined);
    }
    await Promise.all([...this.slots.keys()].map((k) => this.dropSlot(k, 'shutdown')));
    await this.transactions;
    const shared = await this.sharedProducer?.catch(() => undefined);
    this.sharedProducer = undefined;
    await shared?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }

  /** Resolves once no batch is in flight (`onBatch`); warns every 10 s while one still runs. */
  private async batchesFinished(): Promise<void> {
    if (this.batchesInFlight === 0) return;
    const done = new Promise<void>((resolve) => (this.batchesDone = resolve));
    const since = Date.now();
    const warn = setInterval(
      () =>
        this.options.logger.warn('shutdown waits for batches still being processed', {
          batches: this.batchesInFlight,
          waitedMs: Date.now() - since,
        }),
      10_000,
    );
    try {
      await done;
    } finally {
      clearInterval(warn);
      this.batchesDone = undefined;
    }
  }
}

/** `replica` scope: a transaction asked of the shared producer after `stop()` closed it. */
class LoopStoppedError extends Error {
  constructor() {
    super('the exactly-once loop is stopping: its shared producer is closed');
  }
}

function newCommitter(
  due: Committer['due'],
  transact: Committer['transact'],
  member: Committer['member'],
): Committer {
  const c: Committer = {
    due,
    transact,
    member,
    running: undefined,
    turn: Promise.resolve(),
    endTurn: () => undefined,
    lastCommitStart: 0,
  };
  endTurn(c);
  return c;
}

function newSlot(
  key: string,
  topic: string,
  partition: number,
  producer: Producer | undefined,
  committer: Committer,
  committedAtOpen: Slot['committedAtOpen'],
): Slot {
  return {
    key,
    topic,
    partition,
    producer,
    committer,
    committedAtOpen,
    checked: false,
    pending: undefined,
    inflight: undefined,
    dead: false,
    position: undefined,
  };
}

/** The offsets to commit for the slots a transaction carries, grouped by topic. */
function offsetsByTopic(carried: { slot: Slot; work: Pending }[]): TransactionOffsets['topics'] {
  const offsets = new Map<string, { partition: number; offset: string }[]>();
  for (const { slot, work } of carried) {
    const partitions = offsets.get(slot.topic) ?? [];
    partitions.push({ partition: slot.partition, offset: work.next.toString() });
    offsets.set(slot.topic, partitions);
  }
  return [...offsets].map(([topic, partitions]) => ({ topic, partitions }));
}

/** The transaction in flight ended (or the loop did): wake whoever waits for it. */
function endTurn(c: Committer): void {
  const end = c.endTurn;
  c.turn = new Promise((resolve) => (c.endTurn = resolve));
  end();
}
