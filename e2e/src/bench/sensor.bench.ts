/**
 * Benchmark (not a test): `npm run bench -- sensor` (docs/benchmarks.md).
 *
 * On one broker (its own, or KAFKA_BROKERS):
 * 1. the ceiling: kafkajs produce (idempotent, acks=all, batched) + consume (eachBatch) rate;
 * 2. webhook → 1-dependency sensor → http trigger → HTTP target, offered load stepped up until
 *    saturation: accepted and delivered events/s, p50/p99 end-to-end latency (post sent →
 *    target received), 503s, CPU and peak RSS of each service process;
 * 3. the same with a 2-dependency join (`a && b`, every event matching both);
 * 4. both again without the trigger service, ending when the action is committed on P-actions;
 * 5. `http-floor` (only when asked): the same load generator and target with a bare relay process
 *    (http-relay.ts) in place of the services: the two HTTP exchanges of an event without Kafka.
 * Prints a table per step and writes bench/results/sensor.json.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { BatchingProducer, createKafka, ensureTopics, TopicReader } from '@ganglion/eventbus';
import { KafkaBroker, REPO_ROOT, uniquePrefix } from '@ganglion/testing';
import { LADDER, PARTITIONS, pipeline, quiet, REQUEST_LOG } from './load-pipeline.js';

async function rawCeiling(brokers: string): Promise<Record<string, number>> {
  const kafka = createKafka({ brokers: [brokers], clientId: 'bench-raw', logger: quiet });
  const topic = `${uniquePrefix('raw')}-t`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }]);
  await admin.disconnect();
  const n = Number(process.env['BENCH_RAW_RECORDS'] ?? 100_000);
  const value = Buffer.alloc(300, 'x');
  let seen = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const reader = new TopicReader({
    kafka,
    topics: [topic],
    logger: quiet,
    onRecord: () => void (++seen === n && done()),
  });
  await reader.start();
  await reader.joined;
  const producer = new BatchingProducer(kafka, { logger: quiet, maxQueued: n + 1, maxBatch: 1000 });
  const t0 = performance.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < n; i++) sends.push(producer.send({ topic, key: `k${i % 64}`, value }));
  await Promise.all(sends);
  const produced = performance.now();
  await all;
  const consumed = performance.now();
  await reader.stop();
  await producer.close();
  const r = {
    records: n,
    recordBytes: value.length,
    produceRate: Math.round(n / ((produced - t0) / 1000)),
    produceConsumeRate: Math.round(n / ((consumed - t0) / 1000)),
  };
  console.log(
    `raw kafkajs: ${r.produceRate.toLocaleString('en-US')} rec/s produced (acks=all, idempotent), ${r.produceConsumeRate.toLocaleString('en-US')} rec/s produced+consumed end to end`,
  );
  return r;
}

const which = process.argv[2] ?? 'all';
let broker: KafkaBroker | undefined;
let brokers = process.env['KAFKA_BROKERS'] ?? '';
if (!brokers && which !== 'http-floor') {
  // BENCH_BROKER_PROPERTIES: extra server.properties for the bench's broker, `k=v,k=v`.
  const properties = Object.fromEntries(
    (process.env['BENCH_BROKER_PROPERTIES'] ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  broker = await KafkaBroker.start({
    heap: '1g',
    properties,
    ...(REQUEST_LOG ? { requestLog: REQUEST_LOG } : {}),
  });
  brokers = broker.brokers;
}
const result: Record<string, unknown> = {
  at: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadavg: os.loadavg() },
  brokerProperties: process.env['BENCH_BROKER_PROPERTIES'] ?? '',
  config: LADDER,
};
const at = broker?.pid ? { brokerPid: broker.pid } : {};
try {
  if (which === 'http-floor')
    result['httpFloor'] = await pipeline('', 'http-floor', false, true, true, at);
  if (which === 'all' || which === 'raw') result['rawKafkajs'] = await rawCeiling(brokers);
  if (which === 'all' || which === 'single')
    result['singleDependency'] = await pipeline(
      brokers,
      'single-dependency',
      false,
      true,
      false,
      at,
    );
  if (which === 'all' || which === 'join')
    result['twoDependencyJoin'] = await pipeline(brokers, 'join', true, true, false, at);
  // Without the trigger service: webhook → sensor → action committed on P-actions.
  if (which === 'all' || which === 'sensor-only')
    result['singleDependencyToAction'] = await pipeline(
      brokers,
      'single-dependency-to-action',
      false,
      false,
      false,
      at,
    );
  if (which === 'all' || which === 'sensor-only')
    result['twoDependencyJoinToAction'] = await pipeline(
      brokers,
      'join-to-action',
      true,
      false,
      false,
      at,
    );
} finally {
  await broker?.destroy();
  if (REQUEST_LOG) rmSync(REQUEST_LOG, { force: true });
}
const out = join(
  REPO_ROOT,
  'bench',
  'results',
  which === 'all' ? 'sensor.json' : `sensor-${which}.json`,
);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${out}`);
process.exit(0);
