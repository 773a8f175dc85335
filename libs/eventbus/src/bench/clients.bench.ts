/**
 * Benchmark (not a test): is the Kafka client what holds back the exactly-once pipeline?
 * kafkajs 2.2.4 (pure JS, no KIP-447: one transactional producer per input partition) against
 * librdkafka through @confluentinc/kafka-javascript (KIP-447: one transactional producer per
 * process, `sendOffsets` with the consumer's group metadata), on the same broker:
 *
 * a. the raw ceiling of each client: produce N records (idempotent, acks=all, batched) while a
 *    consumer reads them: records/s produced, records/s produced+consumed;
 * b. exactly-once copy input → output (6 + 6 partitions) at stepped offered rates, loaded by a
 *    paced non-transactional producer in this process and read back by a read_committed reader
 *    of the output: (i) kafkajs `ExactlyOnceLoop`; (ii) librdkafka, one transactional producer
 *    and a read_committed consumer, committing in a loop as fast as it can one transaction
 *    carrying the output records and the offsets of every consumed partition (batches that
 *    arrive while one commits go in the next). Per step: achieved records/s, end-to-end latency
 *    (loader's timestamp in the record → read back), transactions/s, broker CPU and this
 *    process's CPU per record; at the end, every produced id read back exactly once.
 *
 * The loader and the reader are kafkajs in both variants (their CPU is in this process's figure
 * for both). librdkafka is not a dependency of any package: scripts/ensure-rdkafka-client.sh
 * builds it once into a cache (or GANGLION_RDKAFKA_DIR names a directory holding
 * node_modules/@confluentinc/kafka-javascript); when that fails the kafkajs figures are still
 * printed, with the reason.
 *
 * Run: `npm run bench -- clients [RATES] [STEP_SECONDS] [WARMUP_SECONDS]`, e.g.
 * `npm run bench -- clients 1000,2500 5`; defaults 1000,2500,5000, 15 s, 10 s (also BENCH_RATES,
 * BENCH_STEP_SECONDS, BENCH_WARMUP_SECONDS; BENCH_DRAIN_SECONDS bounds each step's drain,
 * BENCH_RAW_RECORDS the ceiling's record count, BENCH_COMMIT_INTERVAL_MS the kafkajs loop's
 * commitIntervalMs, BENCH_VARIANTS=kafkajs,librdkafka which to run (also `kafkajs-replica`: the
 * kafkajs loop in replica transaction scope, KIP-447 through the kafkajs patch), BENCH_RDKAFKA_PRODUCER /
 * BENCH_RDKAFKA_CONSUMER JSON objects of librdkafka properties for the librdkafka variant). Uses
 * KAFKA_BROKERS or starts a broker. Writes bench/results/clients.json; exits non-zero only when
 * a variant lost or duplicated records.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@ganglion/telemetry';
import { KafkaBroker, REPO_ROOT, uniquePrefix } from '@ganglion/testing';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { BatchingProducer, type OutRecord } from '../producer/batching-producer.js';
import { createKafka, TRANSACTION_RETRY } from '../client/client.js';
import { ExactlyOnceLoop, type TransactionScope } from '../loops/exactly-once-loop.js';
import { TopicReader } from '../readers/topic-reader.js';
import { ensureTopics } from '../client/topics.js';

const arg = (i: number): string | undefined =>
  process.argv[i] && process.argv[i] !== '-' ? process.argv[i] : undefined;
const RATES = (arg(2) ?? process.env['BENCH_RATES'] ?? '1000,2500,5000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const STEP_SECONDS = Number(arg(3) ?? process.env['BENCH_STEP_SECONDS'] ?? 15);
const WARMUP_SECONDS = Number(arg(4) ?? process.env['BENCH_WARMUP_SECONDS'] ?? 10);
const WARMUP_RATE = Number(process.env['BENCH_WARMUP_RATE'] ?? RATES[0] ?? 1000);
/** Longest wait, after a step's load, for its records to be read back. */
const DRAIN_SECONDS = Number(process.env['BENCH_DRAIN_SECONDS'] ?? 20);
const RAW_RECORDS = Number(process.env['BENCH_RAW_RECORDS'] ?? 100_000);
const COMMIT_INTERVAL_MS = Number(process.env['BENCH_COMMIT_INTERVAL_MS'] ?? 0);
const VARIANTS = (process.env['BENCH_VARIANTS'] ?? 'kafkajs,librdkafka').split(',');
/** More librdkafka properties (JSON objects) for the exactly-once variant's producer and consumer. */
const RD_PRODUCER_EXTRA = JSON.parse(process.env['BENCH_RDKAFKA_PRODUCER'] ?? '{}') as Record<
  string,
  unknown
>;
const RD_CONSUMER_EXTRA = JSON.parse(process.env['BENCH_RDKAFKA_CONSUMER'] ?? '{}') as Record<
  string,
  unknown
>;
const PARTITIONS = 6;
const RECORD_BYTES = 300;
const OUT = resolve('bench/results/clients.json');

const quiet = createLogger('bench', { level: 'error', write: () => undefined });
const pct = (sorted: number[], p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;
const fmt = (n: number): string =>
  Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Rejects after `ms` (what: for the message) unless `p` settles first. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
/** Best effort, bounded: shutdown of a client that may be stuck. */
const settle = (p: Promise<unknown>, ms = 15_000): Promise<unknown> =>
  within(p, ms, 'shutdown').catch(() => undefined);

/** CPU seconds (user+system) of a process, from /proc (0 when unknown). */
function procCpu(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
const selfCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

// --- the librdkafka client, typed by the little of its KafkaJS-compatible API used here --------

interface RdMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
}
interface RdBatchPayload {
  batch: { topic: string; partition: number; messages: RdMessage[] };
}
interface RdConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(s: { topics: string[] }): Promise<void>;
  run(c: {
    eachBatch: (p: RdBatchPayload) => Promise<void>;
    partitionsConsumedConcurrently?: number;
    eachBatchAutoResolve?: boolean;
  }): Promise<void>;
  assignment(): { topic: string; partition: number }[];
}
interface RdTopicOffsets {
  topic: string;
  partitions: { partition: number; offset: string }[];
}
interface RdProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(r: {
    topic: string;
    messages: { key?: Buffer | string | null; value: Buffer | string | null }[];
  }): Promise<unknown>;
  flush(a?: { timeout?: number }): Promise<void>;
  transaction(): Promise<RdProducer>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  sendOffsets(a: { consumer: RdConsumer; topics: RdTopicOffsets[] }): Promise<void>;
}
interface RdKafka {
  producer(config: Record<string, unknown>): RdProducer;
  consumer(config: Record<string, unknown>): RdConsumer;
}
interface RdModule {
  librdkafkaVersion: string;
  KafkaJS: { Kafka: new (config: Record<string, unknown>) => RdKafka; logLevel: { ERROR: number } };
}

/** The built client's directory: GANGLION_RDKAFKA_DIR, or what scripts/ensure-rdkafka-client.sh prints. */
function rdkafkaDir(): { dir: string; buildSeconds?: number } {
  const fromEnv = process.env['GANGLION_RDKAFKA_DIR'];
  let dir = fromEnv;
  if (!dir) {
    const script = join(REPO_ROOT, 'scripts', 'ensure-rdkafka-client.sh');
    console.log(`librdkafka: ${script} (a cold build takes about 2 minutes)`);
    const r = spawnSync('bash', [script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 20 * 60_000,
    });
    if (r.status !== 0)
      throw new Error(
        `scripts/ensure-rdkafka-client.sh failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}); see its message above`,
      );
    dir = r.stdout.trim().split('\n').pop() ?? '';
  }
  if (!existsSync(join(dir, 'node_modules', '@confluentinc', 'kafka-javascript')))
    throw new Error(`no node_modules/@confluentinc/kafka-javascript in ${dir || '(empty path)'}`);
  const seconds = join(dir, '.build-seconds');
  return {
    dir,
    ...(existsSync(seconds) ? { buildSeconds: Number(readFileSync(seconds, 'utf8').trim()) } : {}),
  };
}

function loadRdkafka(dir: string): RdModule {
  const require = createRequire(join(dir, 'package.json'));
  return require('@confluentinc/kafka-javascript') as RdModule;
}

// --- a. raw ceiling ------------------------------------------------------------------------

interface Raw {
  client: string;
  records: number;
  recordBytes: number;
  produceRate: number;
  produceConsumeRate: number;
  /** Records consumed when the deadline passed (== records when complete). */
  consumed: number;
}

async function createTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(
      admin,
      topics.map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })),
    );
  } finally {
    await admin.disconnect();
  }
}

async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics, timeout: 10_000 });
  } catch {
    // Best effort: only keeps the broker lighter for what follows.
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function rawReport(
  client: string,
  n: number,
  t0: number,
  produced: number,
  consumedAt: number,
  consumed: number,
): Raw {
  const r = {
    client,
    records: n,
    recordBytes: RECORD_BYTES,
    produceRate: Math.round(n / ((produced - t0) / 1000)),
    produceConsumeRate: Math.round(consumed / ((consumedAt - t0) / 1000)),
    consumed,
  };
  console.log(
    `raw ${client.padEnd(10)} ${fmt(r.produceRate).padStart(8)} rec/s produced (idempotent, acks=all), ${fmt(r.produceConsumeRate).padStart(8)} rec/s produced+consumed${consumed < n ? ` (only ${consumed} of ${n} consumed before the deadline)` : ''}`,
  );
  return r;
}

async function rawKafkajs(kafka: Kafka, prefix: string, n: number): Promise<Raw> {
  const topic = `${prefix}-raw-kafkajs`;
  await createTopics(kafka, [topic]);
  const value = Buffer.alloc(RECORD_BYTES, 'x');
  let seen = 0;
  let consumedAt = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const reader = new TopicReader({
    kafka,
    topics: [topic],
    logger: quiet,
    onRecord: () => void (++seen === n && ((consumedAt = performance.now()), done())),
  });
  await reader.start();
  await reader.joined;
  const producer = new BatchingProducer(kafka, { logger: quiet, maxQueued: n + 1, maxBatch: 1000 });
  try {
    const t0 = performance.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < n; i++) sends.push(producer.send({ topic, key: `k${i % 64}`, value }));
    await Promise.all(sends);
    const produced = performance.now();
    await within(all, 120_000, 'kafkajs raw consume').catch(() => undefined);
    return rawReport('kafkajs', n, t0, produced, consumedAt || performance.now(), seen);
  } finally {
    await settle(reader.stop());
    await settle(producer.close());
    await deleteTopics(kafka, [topic]);
  }
}

async function rawRdkafka(rd: RdKafka, kafka: Kafka, prefix: string, n: number): Promise<Raw> {
  const topic = `${prefix}-raw-rdkafka`;
  await createTopics(kafka, [topic]);
  const value = Buffer.alloc(RECORD_BYTES, 'x');
  let seen = 0;
  let consumedAt = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const consumer = rd.consumer({
    kafkaJS: {
      groupId: `${prefix}-raw-g`,
      fromBeginning: true,
      autoCommit: false,
      maxWaitTimeInMs: 100,
    },
    'js.consumer.max.batch.size': 1000,
  });
  const producer = rd.producer({ kafkaJS: { idempotent: true, acks: -1 }, 'linger.ms': 2 });
  try {
    await within(consumer.connect(), 30_000, 'librdkafka consumer connect');
    await consumer.subscribe({ topics: [topic] });
    void consumer.run({
      partitionsConsumedConcurrently: 2,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= n && !consumedAt) {
          consumedAt = performance.now();
          done();
        }
      },
    });
    await within(producer.connect(), 30_000, 'librdkafka producer connect');
    // Joined: an assignment (the topic is new and empty, so nothing is missed meanwhile anyway).
    for (
      const until = Date.now() + 30_000;
      consumer.assignment().length === 0 && Date.now() < until;
    )
      await sleep(50);
    const t0 = performance.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < n; i += 1000) {
      const messages = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) messages.push({ key: `k${j % 64}`, value });
      sends.push(producer.send({ topic, messages }));
    }
    await within(Promise.all(sends), 120_000, 'librdkafka raw produce');
    const produced = performance.now();
    await within(all, 120_000, 'librdkafka raw consume').catch(() => undefined);
    return rawReport('librdkafka', n, t0, produced, consumedAt || performance.now(), seen);
  } finally {
    await settle(consumer.disconnect());
    await settle(producer.disconnect());
    await deleteTopics(kafka, [topic]);
  }
}

// --- b. exactly-once copy ------------------------------------------------------------------

/** An exactly-once copy of `input` to `output`, started and stopped by the bench. */
interface Pipeline {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Committed transactions so far. */
  readonly transactions: number;
  /** Their summed duration (ms): begin → committed. */
  readonly transactionMs: number;
  /** Summed duration (ms) of each phase of the committed transactions, where known. */
  readonly phaseMs?: Readonly<Record<string, number>>;
  readonly failedTransactions: number;
  /** Set when the pipeline gave up (the step ends and the variant reports it). */
  readonly fatal: Error | undefined;
}

function kafkajsPipeline(
  kafka: Kafka,
  prefix: string,
  input: string,
  output: string,
  transactionScope: TransactionScope,
): Pipeline {
  let transactions = 0;
  let transactionMs = 0;
  let failed = 0;
  const loop = new ExactlyOnceLoop({
    kafka,
    groupId: `${prefix}-g`,
    topics: [input],
    logger: quiet,
    concurrency: PARTITIONS,
    commitIntervalMs: COMMIT_INTERVAL_MS,
    transactionScope,
    instanceId: 'bench',
    processor: {
      process: (batch): OutRecord[] =>
        batch.messages.map((m: KafkaMessage) => ({
          topic: output,
          key: m.key?.toString('utf8') ?? '',
          value: m.value,
        })),
    },
    onTransaction: (info) => {
      if (!info.ok) failed++;
      else {
        transactions++;
        transactionMs += info.commitMs;
      }
    },
  });
  return {
    start: async () => {
      await within(loop.start(), 60_000, 'ExactlyOnceLoop start');
      await within(loop.joined, 60_000, 'ExactlyOnceLoop join');
    },
    stop: async () => void (await settle(loop.stop(), 30_000)),
    get transactions() {
      return transactions;
    },
    get transactionMs() {
      return transactionMs;
    },
    get failedTransactions() {
      return failed;
    },
    fatal: undefined,
  };
}

/**
 * librdkafka properties of the exactly-once variant (BENCH_RDKAFKA_PRODUCER / _CONSUMER add or
 * override). The retry backoff is the kafkajs loop's TRANSACTION_RETRY: librdkafka's default
 * (100 ms) is what each back-to-back transaction would wait while the coordinator still answers
 * CONCURRENT_TRANSACTIONS (measured: ~250 ms per transaction with it, ~30 ms with 5 ms).
 */
const RD_PRODUCER_CONFIG: Record<string, unknown> = {
  'linger.ms': 2,
  'retry.backoff.ms': TRANSACTION_RETRY.initialRetryTime,
  'retry.backoff.max.ms': TRANSACTION_RETRY.maxRetryTime,
};
const RD_CONSUMER_CONFIG: Record<string, unknown> = { 'js.consumer.max.batch.size': 1000 };

/**
 * KIP-447 copy with librdkafka: one transactional producer, one read_committed consumer. Each
 * batch's records join `pending` and its partition's next offset `offsets`; one transaction at a
 * time commits everything pending (records + offsets of every partition that advanced), and
 * whatever arrives meanwhile goes in the next. A failed transaction ends the pipeline (a
 * benchmark reports it rather than recovering).
 */
class RdkafkaPipeline implements Pipeline {
  transactions = 0;
  transactionMs = 0;
  readonly phaseMs = { begin: 0, sendOffsets: 0, delivered: 0, commit: 0 };
  failedTransactions = 0;
  fatal: Error | undefined;
  private readonly producer: RdProducer;
  private readonly consumer: RdConsumer;
  private pending: { key: Buffer | null; value: Buffer | null }[] = [];
  private offsets = new Map<number, string>();
  private committing: Promise<void> | undefined;
  private stopping = false;
  /** Pending records beyond which a batch waits for the transaction in flight (as ExactlyOnceLoop's maxPendingRecords). */
  private readonly maxPending = 5_000;

  constructor(
    rd: RdKafka,
    prefix: string,
    private readonly input: string,
    private readonly output: string,
  ) {
    this.producer = rd.producer({
      ...RD_PRODUCER_CONFIG,
      ...RD_PRODUCER_EXTRA,
      kafkaJS: {
        transactionalId: `${prefix}-rd-tx`,
        idempotent: true,
        acks: -1,
        transactionTimeout: 30_000,
      },
    });
    this.consumer = rd.consumer({
      kafkaJS: {
        groupId: `${prefix}-rd-g`,
        readUncommitted: false,
        fromBeginning: true,
        autoCommit: false,
        maxWaitTimeInMs: 100,
        sessionTimeout: 6_000,
      },
      ...RD_CONSUMER_CONFIG,
      ...RD_CONSUMER_EXTRA,
    });
  }

  async start(): Promise<void> {
    await within(
      this.producer.connect(),
      60_000,
      'librdkafka transactional producer connect (InitProducerId)',
    );
    await within(this.consumer.connect(), 60_000, 'librdkafka consumer connect');
    await this.consumer.subscribe({ topics: [this.input] });
    void this.consumer.run({
      partitionsConsumedConcurrently: 2,
      eachBatch: (p) => this.onBatch(p),
    });
    for (const until = Date.now() + 60_000; this.consumer.assignment().length === 0;) {
      if (Date.now() > until)
        throw new Error('librdkafka consumer: no partitions assigned within 60 s');
      await sleep(50);
    }
  }

  private async onBatch({ batch }: RdBatchPayload): Promise<void> {
    if (this.stopping || this.fatal || batch.messages.length === 0) return;
    for (const m of batch.messages) this.pending.push({ key: m.key, value: m.value });
    this.offsets.set(
      batch.partition,
      (BigInt(batch.messages[batch.messages.length - 1]!.offset) + 1n).toString(),
    );
    this.committing ??= this.commitLoop();
    if (this.pending.length >= this.maxPending) await this.committing;
  }

  private async commitLoop(): Promise<void> {
    try {
      while (this.pending.length > 0 && !this.fatal) {
        const records = this.pending;
        const offsets = this.offsets;
        this.pending = [];
        this.offsets = new Map();
        const t0 = performance.now();
        const txn = await this.producer.transaction();
        try {
          const t1 = performance.now();
          const sent = txn.send({ topic: this.output, messages: records });
          sent.catch(() => undefined);
          await txn.sendOffsets({
            consumer: this.consumer,
            topics: [
              {
                topic: this.input,
                partitions: [...offsets].map(([partition, offset]) => ({ partition, offset })),
              },
            ],
          });
          const t2 = performance.now();
          await sent;
          const t3 = performance.now();
          await txn.commit();
          const t4 = performance.now();
          this.transactions++;
          this.transactionMs += t4 - t0;
          this.phaseMs.begin += t1 - t0;
          this.phaseMs.sendOffsets += t2 - t1;
          this.phaseMs.delivered += t3 - t2;
          this.phaseMs.commit += t4 - t3;
        } catch (err) {
          this.failedTransactions++;
          this.fatal = new Error(`librdkafka transaction failed: ${errText(err)}`);
          await settle(txn.abort(), 10_000);
        }
      }
    } catch (err) {
      this.fatal = new Error(`librdkafka transaction could not begin: ${errText(err)}`);
    } finally {
      this.committing = undefined;
    }
  }

  async stop(): Promise<void> {
    // Commit what was consumed, then leave the group.
    await settle(this.committing ?? Promise.resolve(), 30_000);
    this.stopping = true;
    await settle(this.consumer.disconnect());
    await settle(this.committing ?? Promise.resolve(), 10_000);
    await settle(this.producer.disconnect());
  }
}

interface Step {
  offered: number;
  seconds: number;
  /** Records the loader had acknowledged (acks=all) for this step. */
  produced: number;
  /** produced / load seconds: below `offered` when the loader itself could not keep the rate. */
  producedPerSec: number;
  /** Of these, read back from the output (read_committed) by the end of the step's drain. */
  readBack: number;
  /** Output records read back per second while the step's load ran. */
  achievedPerSec: number;
  p50ms: number;
  p99ms: number;
  maxMs: number;
  /** Seconds after the load stopped until its last record was read back (or the deadline). */
  drainSeconds: number;
  transactionsPerSec: number;
  recordsPerTransaction: number;
  /** Mean duration of a committed transaction (ms, begin → committed). */
  transactionMs: number;
  /** librdkafka: mean ms per phase (begin, sendOffsets, records delivered after that, commit). */
  phaseMs?: Record<string, number>;
  failedTransactions: number;
  brokerCpuPercent: number | null;
  brokerCpuUsPerRecord: number | null;
  /** This process: the pipeline, plus the loader and reader (kafkajs in both variants). */
  benchCpuPercent: number;
  benchCpuUsPerRecord: number;
  /** The step's records were not all read back by the drain deadline. */
  saturated: boolean;
  /** Load the loader could not send (its queue was full). */
  loaderDropped: number;
}

interface Verification {
  produced: number;
  distinctReadBack: number;
  missing: number;
  duplicates: number;
  /** Ids read back that the loader never saw acknowledged (a failed send that was written). */
  unacknowledged: number;
  ok: boolean;
}

interface VariantResult {
  variant: string;
  steps: Step[];
  verification?: Verification;
  error?: string;
}

/**
 * Loads `input` and reads `output`: ids, send timestamps and the step each record belongs to
 * are in the record (JSON, ~300 bytes).
 */
class Harness {
  private readonly producer: BatchingProducer;
  private readonly reader: TopicReader;
  private nextId = 0;
  /** Ids acknowledged by the broker, with their step. */
  readonly acked = new Map<number, number>();
  readonly seen = new Set<number>();
  duplicates = 0;
  /** Latencies (ms) of read-back records, by step. */
  readonly latencies = new Map<number, number[]>();
  readonly readBackByStep = new Map<number, number>();
  /** Every output record read (duplicates too): the throughput counter. */
  outputRead = 0;
  dropped = 0;
  private readonly pad: string;

  constructor(
    kafka: Kafka,
    private readonly input: string,
    output: string,
  ) {
    this.producer = new BatchingProducer(kafka, {
      logger: quiet,
      maxQueued: 200_000,
      maxBatch: 500,
    });
    this.reader = new TopicReader({
      kafka,
      topics: [output],
      logger: quiet,
      onRecord: (_t, _p, m) => this.onRecord(m),
    });
    const probe = JSON.stringify({ id: 1_000_000, ts: Date.now(), s: 10, pad: '' });
    this.pad = 'x'.repeat(Math.max(0, RECORD_BYTES - probe.length));
  }

  async start(): Promise<void> {
    await within(this.reader.start(), 60_000, 'output reader start');
    await within(this.reader.joined, 60_000, 'output reader join');
  }

  private onRecord(m: KafkaMessage): void {
    this.outputRead++;
    if (!m.value) return;
    const r = JSON.parse(m.value.toString('utf8')) as { id: number; ts: number; s: number };
    if (this.seen.has(r.id)) {
      this.duplicates++;
      return;
    }
    this.seen.add(r.id);
    let l = this.latencies.get(r.s);
    if (!l) this.latencies.set(r.s, (l = []));
    l.push(Date.now() - r.ts);
    this.readBackByStep.set(r.s, (this.readBackByStep.get(r.s) ?? 0) + 1);
  }

  /** Paced load at `rate` records/s for `seconds`; resolves when every send settled (bounded). */
  async load(step: number, rate: number, seconds: number, stop: () => boolean): Promise<void> {
    const sends: Promise<void>[] = [];
    const t0 = performance.now();
    let sent = 0;
    for (;;) {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed >= seconds || stop()) break;
      const due = Math.floor(rate * elapsed) - sent;
      for (let i = 0; i < due; i++) {
        const id = this.nextId++;
        const value = JSON.stringify({ id, ts: Date.now(), s: step, pad: this.pad });
        sends.push(
          this.producer.send({ topic: this.input, key: `k${id % 64}`, value }).then(
            () => void this.acked.set(id, step),
            () => void this.dropped++,
          ),
        );
      }
      sent += Math.max(0, due);
      await sleep(5);
    }
    await within(Promise.all(sends), 30_000, 'loader acknowledgements').catch(() => undefined);
  }

  producedIn(step: number): number {
    let n = 0;
    for (const s of this.acked.values()) if (s === step) n++;
    return n;
  }

  /** Waits until every acknowledged record of `step` was read back, or `seconds` passed. */
  async drain(step: number, seconds: number, stop: () => boolean): Promise<boolean> {
    const want = this.producedIn(step);
    const until = Date.now() + seconds * 1000;
    while ((this.readBackByStep.get(step) ?? 0) < want) {
      if (Date.now() > until || stop()) return false;
      await sleep(20);
    }
    return true;
  }

  verify(): Verification {
    let missing = 0;
    for (const id of this.acked.keys()) if (!this.seen.has(id)) missing++;
    let unacknowledged = 0;
    for (const id of this.seen) if (!this.acked.has(id)) unacknowledged++;
    return {
      produced: this.acked.size,
      distinctReadBack: this.seen.size - unacknowledged,
      missing,
      duplicates: this.duplicates,
      unacknowledged,
      ok: missing === 0 && this.duplicates === 0,
    };
  }

  async stop(): Promise<void> {
    await settle(this.producer.close());
    await settle(this.reader.stop());
  }
}

async function runVariant(
  variant: string,
  kafka: Kafka,
  prefix: string,
  brokerPid: number | undefined,
  make: (input: string, output: string) => Pipeline,
): Promise<VariantResult> {
  const input = `${prefix}-in`;
  const output = `${prefix}-out`;
  const result: VariantResult = { variant, steps: [] };
  let h: Harness | undefined;
  let p: Pipeline | undefined;
  try {
    await createTopics(kafka, [input, output]);
    const harness = (h = new Harness(kafka, input, output));
    const pipeline = (p = make(input, output));
    const fatal = (): boolean => pipeline.fatal !== undefined;
    await harness.start();
    await pipeline.start();
    if (WARMUP_SECONDS > 0) {
      console.log(`${variant}: warm-up ${WARMUP_SECONDS} s at ${WARMUP_RATE} rec/s`);
      await harness.load(-1, WARMUP_RATE, WARMUP_SECONDS, fatal);
      if (!(await harness.drain(-1, DRAIN_SECONDS, fatal)))
        console.log(`${variant}: warm-up records not all read back within ${DRAIN_SECONDS} s`);
    }
    for (const [i, rate] of RATES.entries()) {
      if (pipeline.fatal) break;
      const cpu0 = selfCpu();
      const broker0 = procCpu(brokerPid);
      const tx0 = pipeline.transactions;
      const txMs0 = pipeline.transactionMs;
      const phase0 = { ...pipeline.phaseMs };
      const failed0 = pipeline.failedTransactions;
      const out0 = harness.outputRead;
      const dropped0 = harness.dropped;
      const t0 = performance.now();
      await harness.load(i, rate, STEP_SECONDS, fatal);
      const loadEnd = performance.now();
      const outDuringLoad = harness.outputRead - out0;
      const drained = await harness.drain(i, DRAIN_SECONDS, fatal);
      const t1 = performance.now();
      const wall = (t1 - t0) / 1000;
      const produced = harness.producedIn(i);
      const readBack = harness.readBackByStep.get(i) ?? 0;
      const lat = (harness.latencies.get(i) ?? []).sort((a, b) => a - b);
      const tx = pipeline.transactions - tx0;
      const brokerCpu = brokerPid ? procCpu(brokerPid) - broker0 : null;
      const benchCpu = selfCpu() - cpu0;
      const step: Step = {
        offered: rate,
        seconds: STEP_SECONDS,
        produced,
        producedPerSec: Math.round(produced / ((loadEnd - t0) / 1000)),
        readBack,
        achievedPerSec: Math.round(outDuringLoad / ((loadEnd - t0) / 1000)),
        p50ms: round(pct(lat, 50)),
        p99ms: round(pct(lat, 99)),
        maxMs: round(pct(lat, 100)),
        drainSeconds: round((t1 - loadEnd) / 1000, 2),
        transactionsPerSec: round(tx / wall),
        recordsPerTransaction: tx ? round(readBack / tx) : 0,
        transactionMs: tx ? round((pipeline.transactionMs - txMs0) / tx) : 0,
        ...(pipeline.phaseMs && tx
          ? {
              phaseMs: Object.fromEntries(
                Object.entries(pipeline.phaseMs).map(([k, v]) => [
                  k,
                  round((v - (phase0[k] ?? 0)) / tx),
                ]),
              ),
            }
          : {}),
        failedTransactions: pipeline.failedTransactions - failed0,
        brokerCpuPercent: brokerCpu === null ? null : round((brokerCpu / wall) * 100),
        brokerCpuUsPerRecord:
          brokerCpu === null || !readBack ? null : Math.round((brokerCpu * 1e6) / readBack),
        benchCpuPercent: round((benchCpu / wall) * 100),
        benchCpuUsPerRecord: readBack ? Math.round((benchCpu * 1e6) / readBack) : 0,
        saturated: !drained,
        loaderDropped: harness.dropped - dropped0,
      };
      result.steps.push(step);
      console.log(
        `${variant.padEnd(10)} ${fmt(rate).padStart(6)} rec/s offered, ${fmt(step.producedPerSec).padStart(6)} in: ${fmt(step.achievedPerSec).padStart(6)} rec/s out, p50 ${step.p50ms} ms, p99 ${step.p99ms} ms, max ${step.maxMs} ms, ` +
          `${step.transactionsPerSec} txn/s of ${step.transactionMs} ms, broker ${step.brokerCpuPercent ?? '-'}% CPU, bench ${step.benchCpuUsPerRecord} µs/rec${
            step.phaseMs
              ? ` (txn phases ms: ${Object.entries(step.phaseMs)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(', ')})`
              : ''
          }${step.saturated ? `, SATURATED (${readBack}/${produced} read back after ${DRAIN_SECONDS} s)` : ''}`,
      );
      if (step.saturated) {
        console.log(`${variant}: cannot keep up at ${rate} rec/s; higher rates skipped`);
        break;
      }
    }
    if (pipeline.fatal) throw pipeline.fatal;
  } catch (err) {
    result.error = errText(err);
    console.log(`${variant}: ${result.error}`);
  } finally {
    if (h && h.acked.size > 0) {
      // Everything acknowledged must come back exactly once (a saturated variant gets longer).
      const until = Date.now() + DRAIN_SECONDS * 2 * 1000;
      while (h.seen.size < h.acked.size && Date.now() < until && !p?.fatal) await sleep(50);
      await sleep(500); // duplicates, if any, arrive right behind
      const v = (result.verification = h.verify());
      console.log(
        `${variant}: ${v.ok ? 'verified' : 'NOT VERIFIED'}: ${v.produced} produced, ${v.distinctReadBack} distinct read back, ${v.missing} missing, ${v.duplicates} duplicates${v.unacknowledged ? `, ${v.unacknowledged} read back though their send failed` : ''}`,
      );
    }
    await p?.stop();
    await h?.stop();
    await deleteTopics(kafka, [input, output]);
  }
  return result;
}

function table(results: VariantResult[]): void {
  const head = [
    'variant',
    'offered',
    'in/s',
    'out/s',
    'p50 ms',
    'p99 ms',
    'max ms',
    'txn/s',
    'txn ms',
    'rec/txn',
    'broker %',
    'broker µs/rec',
    'bench µs/rec',
    'ok',
  ];
  const rows = results.flatMap((r) =>
    r.steps.map((s) => [
      r.variant,
      fmt(s.offered),
      fmt(s.producedPerSec),
      fmt(s.achievedPerSec),
      String(s.p50ms),
      String(s.p99ms),
      String(s.maxMs),
      String(s.transactionsPerSec),
      String(s.transactionMs),
      String(s.recordsPerTransaction),
      String(s.brokerCpuPercent ?? '-'),
      String(s.brokerCpuUsPerRecord ?? '-'),
      String(s.benchCpuUsPerRecord),
      s.saturated ? 'saturated' : 'yes',
    ]),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log('\n' + line(head));
  for (const r of rows) console.log(line(r));
  for (const r of results) {
    if (r.error) console.log(`${r.variant}: ${r.error}`);
    if (r.verification)
      console.log(
        `${r.variant}: exactly once ${r.verification.ok ? 'verified' : 'NOT verified'} (${r.verification.produced} produced, ${r.verification.missing} missing, ${r.verification.duplicates} duplicates)`,
      );
  }
}

// --- main ------------------------------------------------------------------------------------

let broker: KafkaBroker | undefined;
const stopBroker = async (): Promise<void> => {
  const b = broker;
  broker = undefined;
  if (b) await settle(b.destroy(), 30_000);
};
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => void stopBroker().finally(() => process.exit(130)));

const out: Record<string, unknown> = {
  node: process.version,
  kafkajs: '2.2.4',
  rates: RATES,
  stepSeconds: STEP_SECONDS,
  warmupSeconds: WARMUP_SECONDS,
  warmupRate: WARMUP_RATE,
  drainSeconds: DRAIN_SECONDS,
  partitions: PARTITIONS,
  recordBytes: RECORD_BYTES,
  commitIntervalMs: COMMIT_INTERVAL_MS,
  rdkafkaProducerConfig: { ...RD_PRODUCER_CONFIG, ...RD_PRODUCER_EXTRA },
  rdkafkaConsumerConfig: { ...RD_CONSUMER_CONFIG, ...RD_CONSUMER_EXTRA },
};
let status = 0;
try {
  let brokers = process.env['KAFKA_BROKERS'];
  if (!brokers) {
    broker = await KafkaBroker.start();
    brokers = broker.brokers;
  }
  const brokerPid = broker?.pid;
  if (!brokerPid) console.log('KAFKA_BROKERS given: no broker CPU figures');
  const kafka = createKafka({
    brokers: brokers.split(','),
    clientId: 'bench-clients',
    logger: quiet,
  });
  const prefix = uniquePrefix('clients');

  // The librdkafka client first: building it (once) must not fall between measurements.
  let rd: RdKafka | undefined;
  let rdError: string | undefined;
  if (VARIANTS.includes('librdkafka')) {
    try {
      const { dir, buildSeconds } = rdkafkaDir();
      const mod = loadRdkafka(dir);
      rd = new mod.KafkaJS.Kafka({
        kafkaJS: {
          brokers: brokers.split(','),
          clientId: 'bench-clients-rd',
          logLevel: mod.KafkaJS.logLevel.ERROR,
        },
      });
      out['librdkafka'] = {
        version: mod.librdkafkaVersion,
        dir,
        ...(buildSeconds !== undefined ? { coldBuildSeconds: buildSeconds } : {}),
      };
      console.log(
        `librdkafka ${mod.librdkafkaVersion} from ${dir}${buildSeconds !== undefined ? ` (cold build took ${buildSeconds} s)` : ''}`,
      );
    } catch (err) {
      rdError = `librdkafka client unavailable: ${errText(err)}`;
      console.log(rdError);
    }
  }

  const raw: Raw[] = [];
  const rawErrors: Record<string, string> = {};
  if (RAW_RECORDS > 0) {
    if (VARIANTS.includes('kafkajs'))
      await rawKafkajs(kafka, prefix, RAW_RECORDS).then(
        (r) => raw.push(r),
        (err: unknown) => void (rawErrors['kafkajs'] = errText(err)),
      );
    if (rd)
      await rawRdkafka(rd, kafka, prefix, RAW_RECORDS).then(
        (r) => raw.push(r),
        (err: unknown) => void (rawErrors['librdkafka'] = errText(err)),
      );
    for (const [c, e] of Object.entries(rawErrors)) console.log(`raw ${c}: failed: ${e}`);
  }
  out['raw'] = raw;
  if (Object.keys(rawErrors).length) out['rawErrors'] = rawErrors;

  const results: VariantResult[] = [];
  if (VARIANTS.includes('kafkajs')) {
    results.push(
      await runVariant('kafkajs', kafka, `${prefix}-kjs`, brokerPid, (input, output) =>
        kafkajsPipeline(kafka, `${prefix}-kjs`, input, output, 'partition'),
      ),
    );
  }
  if (VARIANTS.includes('kafkajs-replica')) {
    results.push(
      await runVariant('kafkajs-replica', kafka, `${prefix}-kjr`, brokerPid, (input, output) =>
        kafkajsPipeline(kafka, `${prefix}-kjr`, input, output, 'replica'),
      ),
    );
  }
  if (VARIANTS.includes('librdkafka')) {
    if (rd) {
      const client = rd;
      results.push(
        await runVariant(
          'librdkafka',
          kafka,
          `${prefix}-rd`,
          brokerPid,
          (input, output) => new RdkafkaPipeline(client, `${prefix}-rd`, input, output),
        ),
      );
    } else {
      results.push({ variant: 'librdkafka', steps: [], error: rdError ?? 'not run' });
    }
  }
  out['exactlyOnce'] = results;
  table(results);
  if (results.some((r) => r.verification && !r.verification.ok)) status = 1;
} catch (err) {
  console.log(
    `clients bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
  );
  out['error'] = errText(err);
  status = 1;
} finally {
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(out, null, 2) + '\n');
  console.log(`wrote ${OUT}`);
  await stopBroker();
}
// librdkafka's threads and kafkajs's timers may keep the process alive: the figures are written.
process.exit(status);
