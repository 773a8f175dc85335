/**
 * Benchmark (not a test): what TLS and SASL cost the bus. One broker with a PLAINTEXT and a
 * SASL_SSL listener (libs/testing `KafkaBroker.start({ secure: true })`); the same exactly-once
 * hop on each: a batching producer writes N records (1 KiB) to an input topic, an
 * `ExactlyOnceLoop` copies them to an output topic in transactions (read_committed, offsets in
 * the transaction, the OffsetFetch wire reader at partition open), and a read_committed reader
 * counts them. Throughput = N / (first send → last output read). Rounds alternate plaintext and
 * SASL_SSL (SCRAM-SHA-512, TLS verified against the test CA); the median of each is reported
 * with the ratio SASL_SSL / plaintext (goal ≥ 0.8).
 * Run: `npm run bench -- bus-security [N] [ROUNDS]` (default 20 000 records, 3 rounds each);
 * writes bench/results/bus-security.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createLogger } from '@ganglion/telemetry';
import { KafkaBroker, uniquePrefix, waitFor } from '@ganglion/testing';
import { createKafka } from '../client/client.js';
import { installationSecurity } from '../client/security.js';
import { ExactlyOnceLoop } from '../loops/exactly-once-loop.js';
import { BatchingProducer } from '../producer/batching-producer.js';
import { TopicReader } from '../readers/topic-reader.js';

const N = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const OUT = resolve('bench/results/bus-security.json');
const PARTITIONS = 3;
const logger = createLogger('bench', { level: 'error' });

interface Round {
  mode: 'plaintext' | 'sasl_ssl';
  records: number;
  seconds: number;
  perSecond: number;
}

async function hop(broker: KafkaBroker, mode: Round['mode'], round: number): Promise<Round> {
  const secure = mode === 'sasl_ssl';
  const security = secure
    ? installationSecurity({
        tls: { caFile: broker.secure.files.ca },
        sasl: {
          mechanism: 'SCRAM-SHA-512',
          username: broker.secure.user.username,
          password: broker.secure.user.password,
        },
      })
    : undefined;
  const kafka = createKafka({
    brokers: [secure ? broker.secure.saslSsl : broker.brokers],
    clientId: `bench-${mode}`,
    logger,
    ...(security ? { security } : {}),
  });
  const prefix = uniquePrefix(`bus-security-${mode}-${round}`);
  const input = `${prefix}-in`;
  const output = `${prefix}-out`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [input, output].map((topic) => ({
      topic,
      numPartitions: PARTITIONS,
      replicationFactor: 1,
    })),
    waitForLeaders: true,
  });
  await admin.disconnect();
  const loop = new ExactlyOnceLoop({
    kafka,
    groupId: `${prefix}-group`,
    topics: [input],
    logger,
    maxWaitMs: 10,
    processor: {
      process: ({ messages, partition }) =>
        messages.map((m) => ({
          topic: output,
          partition,
          key: m.key?.toString() ?? '',
          value: m.value ?? Buffer.alloc(0),
        })),
    },
  });
  let seen = 0;
  const reader = new TopicReader({
    kafka,
    topics: [output],
    logger,
    maxWaitMs: 10,
    onRecord: () => void seen++,
  });
  await loop.start();
  await loop.joined;
  await reader.start();
  const producer = new BatchingProducer(kafka, { logger, lingerMs: 2, maxInFlight: 5 });
  const value = Buffer.alloc(1024, 'x');
  const started = performance.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < N; i++)
    sends.push(producer.send({ topic: input, key: `k${i % 512}`, value }));
  await Promise.all(sends);
  await waitFor(() => seen >= N, {
    timeoutMs: 600_000,
    intervalMs: 5,
    what: `${N} records through the hop`,
  });
  const seconds = (performance.now() - started) / 1000;
  await producer.close();
  await reader.stop();
  await loop.stop();
  return {
    mode,
    records: N,
    seconds: Math.round(seconds * 100) / 100,
    perSecond: Math.round(N / seconds),
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const broker = await KafkaBroker.start({ secure: true });
try {
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++)
    for (const mode of ['plaintext', 'sasl_ssl'] as const) {
      const result = await hop(broker, mode, r);
      rounds.push(result);
      console.log(
        `${mode.padEnd(9)} round ${r + 1}: ${result.perSecond} records/s (${result.seconds} s)`,
      );
    }
  const plain = median(rounds.filter((r) => r.mode === 'plaintext').map((r) => r.perSecond));
  const secure = median(rounds.filter((r) => r.mode === 'sasl_ssl').map((r) => r.perSecond));
  const ratio = Math.round((secure / plain) * 100) / 100;
  console.log(
    `exactly-once hop, ${N} records of 1 KiB, ${PARTITIONS} partitions: plaintext ${plain}/s, SASL_SSL (SCRAM-SHA-512) ${secure}/s, ratio ${ratio} (goal ≥ 0.8)`,
  );
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(
    OUT,
    JSON.stringify(
      {
        records: N,
        recordBytes: 1024,
        partitions: PARTITIONS,
        plaintextPerSecond: plain,
        saslSslPerSecond: secure,
        ratio,
        rounds,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${OUT}`);
} finally {
  await broker.destroy();
}
