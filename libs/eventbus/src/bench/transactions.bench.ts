/**
 * Benchmark (not a test): latency of back-to-back Kafka transactions shaped like one exactly-once
 * step (one record + sendOffsets + commit), with the client's general retry policy (first retry
 * after 100 ms) and with TRANSACTION_RETRY (first retry after 3 ms). A transaction begun right
 * after the previous one committed is answered CONCURRENT_TRANSACTIONS until the coordinator has
 * written the previous one's markers; the first retry delay is then the floor of every step.
 * Run: `npm run bench -- transactions [N]` (default 300 transactions per policy); writes
 * bench/results/transactions.json. Uses KAFKA_BROKERS or starts a broker. The last run sends the
 * records and the offsets together, as ExactlyOnceLoop does (three round trips instead of five).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Kafka, logLevel, type RetryOptions } from 'kafkajs';
import { kafkaBrokers, uniquePrefix } from '@ganglion/testing';
import { TRANSACTION_RETRY } from '../client/client.js';
import { sendOutputAndOffsets } from '../loops/exactly-once-loop.js';

const N = Number(process.argv[2] ?? 300);
const OUT = resolve(process.argv[3] ?? 'bench/results/transactions.json');

interface Result {
  policy: string;
  /** The records and the offsets sent together (as ExactlyOnceLoop does) rather than one after the other. */
  together: boolean;
  retry: RetryOptions;
  transactions: number;
  perSecond: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  maxMs: number;
  /** Debug log lines of the client mentioning a retry or CONCURRENT_TRANSACTIONS (several per retried request). */
  retryLogLines: number;
}

const pct = (sorted: number[], p: number): number =>
  Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10;

async function measure(
  brokers: string,
  prefix: string,
  policy: string,
  retry: RetryOptions,
  n: number,
  together = false,
): Promise<Result> {
  let retries = 0;
  const kafka = new Kafka({
    clientId: `bench-${policy}`,
    brokers: [brokers],
    retry,
    logLevel: logLevel.DEBUG,
    logCreator:
      () =>
      ({ log }) => {
        if (/CONCURRENT_TRANSACTIONS|retry/i.test(JSON.stringify(log))) retries++;
      },
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: `${prefix}-in`, numPartitions: 1 },
      { topic: `${prefix}-out`, numPartitions: 1 },
    ],
  });
  await admin.disconnect();
  const producer = kafka.producer({
    transactionalId: `${prefix}-${policy}`,
    idempotent: true,
    maxInFlightRequests: 1,
    retry,
  });
  await producer.connect();
  const step = async (i: number): Promise<void> => {
    const txn = await producer.transaction();
    const offsets = {
      consumerGroupId: `${prefix}-g`,
      topics: [{ topic: `${prefix}-in`, partitions: [{ partition: 0, offset: String(i + 1) }] }],
    };
    if (together)
      await sendOutputAndOffsets(
        txn,
        [{ topic: `${prefix}-out`, key: `r${i}`, value: `r${i}` }],
        offsets,
      );
    else {
      await txn.send({
        topic: `${prefix}-out`,
        messages: [{ key: `r${i}`, value: `r${i}` }],
        acks: -1,
      });
      await txn.sendOffsets(offsets);
    }
    await txn.commit();
  };
  // Warm-up: coordinators found, group metadata loaded.
  for (let i = 0; i < 10; i++) await step(i);
  retries = 0;
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 10; i < n + 10; i++) {
    const t = performance.now();
    await step(i);
    times.push(performance.now() - t);
  }
  const elapsed = (performance.now() - t0) / 1000;
  await producer.disconnect();
  times.sort((a, b) => a - b);
  return {
    policy,
    together,
    retry,
    transactions: n,
    perSecond: Math.round(n / elapsed),
    p50ms: pct(times, 50),
    p90ms: pct(times, 90),
    p99ms: pct(times, 99),
    maxMs: pct(times, 100),
    retryLogLines: retries,
  };
}

const brokers = await kafkaBrokers();
const prefix = uniquePrefix('txbench');
const results: Result[] = [];
// The slow policy first and with fewer steps: it is ~10× slower.
results.push(
  await measure(
    brokers,
    `${prefix}-a`,
    'client-default',
    { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    Math.max(20, Math.floor(N / 5)),
  ),
);
results.push(
  await measure(brokers, `${prefix}-b`, 'TRANSACTION_RETRY', { ...TRANSACTION_RETRY }, N),
);
results.push(
  await measure(brokers, `${prefix}-c`, 'TRANSACTION_RETRY', { ...TRANSACTION_RETRY }, N, true),
);
for (const r of results) {
  console.log(
    `${r.policy.padEnd(18)} ${r.together ? 'records ∥ offsets' : 'records, offsets '} first retry ${String(r.retry.initialRetryTime).padStart(3)} ms: ${r.transactions} transactions, ${r.perSecond}/s, p50 ${r.p50ms} ms, p90 ${r.p90ms} ms, p99 ${r.p99ms} ms, max ${r.maxMs} ms, ${r.retryLogLines} client log lines about retries`,
  );
}
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify({ node: process.version, results }, null, 2) + '\n');
console.log(`wrote ${OUT}`);
