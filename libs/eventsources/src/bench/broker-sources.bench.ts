/**
 * Benchmark (not a test): messages/s a broker source bridges into the bus on one replica (each
 * message published with acks=all, then acknowledged at the source), beside the peer's own
 * consume rate with its reference client on the same machine (the ceiling: the same messages
 * read and acknowledged, nothing else done). Goal: ≥ 50 % of the ceiling for the acknowledged
 * types.
 *
 * For each case, N messages are loaded into the peer first (types whose broker keeps messages),
 * then the reference client drains them (ceiling), then a fresh copy is drained by the kit's
 * runner (`BrokerEventsRunner`, in this process, producing to a real Kafka broker), counted when
 * the bus acknowledged them. Core NATS keeps nothing: its messages are published during the
 * measurement, and the rate is the subscriber's.
 *
 * Run: `npm run bench -- broker-sources [out.json]` (default bench/results/broker-sources.json).
 * Env: BENCH_MESSAGES (default 20000), BENCH_ONLY (comma list of case names; `floor` for the
 * bus floor), BENCH_IN_FLIGHT (produce requests in flight, default 1 as in the services),
 * BENCH_WINDOW (the kit's window in messages), BENCH_MAX_BATCH (records per produce request),
 * BENCH_PROFILE (a directory: a CPU profile of each bridge run), KAFKA_BROKERS (else a local
 * broker is started). A case is one entry of CASES: add yours there.
 *
 * Besides the rates, each row says where the time goes: records per produce request, mean
 * produce duration, the share of the run a produce request was in flight, and CPU µs per
 * message of the reference client, of the bridge process and of the bus's Kafka broker. The
 * `floor` line is the bus alone: the same records through the same producer, nothing else.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { Session } from 'node:inspector/promises';
import amqp from 'amqplib';
import { connectAsync as mqttConnect } from 'mqtt';
import { connect as natsConnect } from 'nats';
import { Redis } from 'ioredis';
import { BusClients, createKafka, ensureTopics, type EventRecord } from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import {
  KafkaBroker,
  Mosquitto,
  NatsServer,
  NsqServer,
  RabbitMqServer,
  RedisServer,
  uniquePrefix,
  waitFor,
} from '@ganglion/testing';
import { BrokerEventsRunner, DEFAULT_BROKER_WINDOW } from '../kit/broker-events.runner.js';
import type { BrokerSourceType } from '../kit/broker-source.js';
import { cloudEventRecord, naturalEventId } from '../kit/cloudevent.js';
import type { OwnedHost } from '../kit/owned-source.js';
import { BusFixture, eventSource, MemoryStore } from '../kit/push-harness.test-support.js';
import { amqpSource } from '../amqp/amqp.source.js';
import { kafkaSource } from '../kafka/kafka.source.js';
import { nsqSource } from '../nsq/nsq.source.js';
import { mqttSource } from '../mqtt/mqtt.source.js';
import { natsSource } from '../nats/nats.source.js';
import { redisStreamSource } from '../redisstream/redis-stream.source.js';

const N = Number(process.env['BENCH_MESSAGES'] ?? 20_000);
const ONLY = process.env['BENCH_ONLY']?.split(',');
/** Produce requests in flight at once (default: the services' 1, which keeps the source's order). */
const IN_FLIGHT = Number(process.env['BENCH_IN_FLIGHT'] ?? 0);
const WINDOW = Number(process.env['BENCH_WINDOW'] ?? 0);
const MAX_BATCH = Number(process.env['BENCH_MAX_BATCH'] ?? 0);
const logger = createLogger('bench', { level: 'error' });
/** A directory: a CPU profile of each bridge run (`<type>.cpuprofile`) is written there. */
const PROFILE_DIR = process.env['BENCH_PROFILE'];
const PAYLOAD = (i: number): string =>
  JSON.stringify({ seq: i, order: { id: `o-${i}`, amount: 42.5, currency: 'EUR' } });

/** CPU time (user + system, µs) this process used since `from`. */
function cpuSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return d.user + d.system;
}

/** CPU time (user + system, µs) of process `pid` so far (Linux /proc, 100 ticks/s), 0 when unknown. */
function procCpu(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}

/** CPU µs per message of the last run: this process and the bus's Kafka broker (bridge only). */
const cpu = { selfUs: 0, brokerUs: 0 };
let brokerPid: number | undefined;

/** One peer of a broker type, ready for a run named `run` (a fresh topic, stream, subject). */
interface Peer {
  /** The messages stay at the peer until read (loaded before the measurement). */
  keeps: boolean;
  /** The EventSource spec (`{<type>: {bench: config}}`) reading run `run`. */
  spec(run: string): Record<string, unknown>;
  /** Loads (keeps) or sends (live) `n` messages into run `run`. */
  send(run: string, n: number): Promise<void>;
  /**
   * The reference client reads (and acknowledges) `n` messages of run `run`; for a live peer,
   * `send` is called once it listens. Resolves with the elapsed ms.
   */
  ceiling(run: string, n: number, send: () => Promise<void>): Promise<number>;
  /** Prepares run `run` before the bridge reads it (a consumer group, a session). */
  prepare?(run: string): Promise<void>;
  /**
   * Messages of run `run` the bridge has put on the bus, for a type that does not publish
   * through the kit's producer (the exactly-once kafka source: its committed offsets).
   */
  bridged?(run: string): Promise<number>;
  stop(): Promise<void>;
}

interface BenchCase {
  name: string;
  acknowledged: boolean;
  source: (host: OwnedHost) => BrokerSourceType<never>;
  start(kafkaBrokers: string): Promise<Peer>;
}

const CASES: BenchCase[] = [
  kafkaCase(false),
  kafkaCase(true),
  {
    name: 'redisStream',
    acknowledged: true,
    source: () => redisStreamSource as BrokerSourceType<never>,
    async start() {
      const server = await RedisServer.start();
      const client = new Redis({ host: '127.0.0.1', port: server.port });
      const streamOf = (run: string): string => `${run}-stream`;
      return {
        keeps: true,
        spec: (run) => ({
          redisStream: {
            bench: {
              hostAddress: server.hostAddress,
              streams: [streamOf(run)],
              consumerGroup: `${run}-bridge`,
              maxMsgCountPerRead: 100,
            },
          },
        }),
        async prepare(run) {
          await client.xgroup('CREATE', streamOf(run), `${run}-bridge`, '0', 'MKSTREAM');
        },
        async send(run, n) {
          for (let i = 0; i < n; i += 500) {
            const pipe = client.pipeline();
            for (let j = i; j < Math.min(n, i + 500); j++)
              pipe.xadd(streamOf(run), '*', 'payload', PAYLOAD(j));
            await pipe.exec();
          }
        },
        async ceiling(run, n) {
          const stream = streamOf(run);
          const group = `${run}-ceiling`;
          await client.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
          const reader = new Redis({ host: '127.0.0.1', port: server.port });
          const started = performance.now();
          let seen = 0;
          while (seen < n) {
            const reply = (await reader.call(
              'XREADGROUP',
              'GROUP',
              group,
              'ceiling',
              'COUNT',
              100,
              'STREAMS',
              stream,
              '>',
            )) as [string, [string, string[]][]][] | null;
            const entries = reply?.[0]?.[1] ?? [];
            if (entries.length) await reader.xack(stream, group, ...entries.map(([id]) => id));
            seen += entries.length;
          }
          const ms = performance.now() - started;
          reader.disconnect();
          return ms;
        },
        async stop() {
          client.disconnect();
          await server.stop();
        },
      };
    },
  },
  {
    name: 'mqtt',
    acknowledged: true,
    source: () => mqttSource as BrokerSourceType<never>,
    async start() {
      const server = await Mosquitto.start();
      const url = server.url.replace('tcp:', 'mqtt:');
      const topicOf = (run: string): string => `${run}/in`;
      /** A persistent session subscribed at QoS 1, so the broker queues what is sent. */
      const session = async (clientId: string, topic: string): Promise<void> => {
        const c = await mqttConnect(url, { clientId, clean: false });
        await c.subscribeAsync(topic, { qos: 1 });
        await c.endAsync();
      };
      return {
        keeps: true,
        spec: (run) => ({
          mqtt: { bench: { url: server.url, topic: topicOf(run), clientId: `${run}-bridge` } },
        }),
        prepare: (run) => session(`${run}-bridge`, topicOf(run)),
        async send(run, n) {
          await session(`${run}-ceiling`, topicOf(run));
          const c = await mqttConnect(url, { clientId: `${run}-publisher` });
          const sends: Promise<unknown>[] = [];
          for (let i = 0; i < n; i++) {
            sends.push(c.publishAsync(topicOf(run), PAYLOAD(i), { qos: 1 }));
            if (sends.length >= 500) await Promise.all(sends.splice(0));
          }
          await Promise.all(sends);
          await c.endAsync();
        },
        async ceiling(run, n) {
          let seen = 0;
          const started = performance.now();
          const c = await mqttConnect(url, { clientId: `${run}-ceiling`, clean: false });
          c.on('message', () => seen++);
          await waitFor(() => seen >= n, { timeoutMs: 600_000, intervalMs: 5 });
          const ms = performance.now() - started;
          await c.endAsync();
          return ms;
        },
        stop: () => server.stop(),
      };
    },
  },
  {
    name: 'amqp',
    acknowledged: true,
    source: () => amqpSource as BrokerSourceType<never>,
    async start() {
      const server = await RabbitMqServer.start();
      const conn = await amqp.connect(server.url);
      const exchangeOf = (run: string): string => `${run}-ex`;
      return {
        keeps: true,
        spec: (run) => ({
          amqp: {
            bench: {
              url: server.url,
              exchangeName: exchangeOf(run),
              exchangeType: 'fanout',
              routingKey: '',
              queueDeclare: { name: `${run}-bridge`, durable: true },
            },
          },
        }),
        // Both queues bound before loading: each gets a copy of every message.
        async prepare(run) {
          const ch = await conn.createChannel();
          await ch.assertExchange(exchangeOf(run), 'fanout', { durable: true });
          for (const q of [`${run}-bridge`, `${run}-ceiling`]) {
            await ch.assertQueue(q, { durable: true, exclusive: false, autoDelete: false });
            await ch.bindQueue(q, exchangeOf(run), '');
          }
          await ch.close();
        },
        async send(run, n) {
          const ch = await conn.createConfirmChannel();
          for (let i = 0; i < n; i++)
            if (!ch.publish(exchangeOf(run), '', Buffer.from(PAYLOAD(i)), { persistent: true }))
              await new Promise((r) => ch.once('drain', r));
          await ch.waitForConfirms();
          await ch.close();
        },
        // amqplib's consumer with the source's prefetch, acknowledging each delivery.
        async ceiling(run, n) {
          const ch = await conn.createChannel();
          await ch.prefetch(500);
          let seen = 0;
          const started = performance.now();
          await ch.consume(`${run}-ceiling`, (m) => {
            if (!m) return;
            ch.ack(m);
            seen++;
          });
          await waitFor(() => seen >= n, { timeoutMs: 600_000, intervalMs: 5 });
          const ms = performance.now() - started;
          await ch.close();
          return ms;
        },
        async stop() {
          await conn.close();
          await server.stop();
        },
      };
    },
  },
  {
    name: 'nsq',
    acknowledged: true,
    source: () => nsqSource as BrokerSourceType<never>,
    async start() {
      const server = await NsqServer.start();
      // nsqjs ships no types: the reader as the ceiling uses it.
      const nsqjs = createRequire(import.meta.url)('nsqjs') as {
        Reader: new (
          topic: string,
          channel: string,
          options: Record<string, unknown>,
        ) => {
          connect(): void;
          close(): void;
          on(event: 'message', cb: (m: { finish(): void }) => void): void;
        };
      };
      return {
        keeps: true,
        spec: (run) => ({
          nsq: { bench: { hostAddress: server.lookupdHttpAddress, topic: run, channel: 'bridge' } },
        }),
        async prepare(run) {
          for (const path of [
            `/topic/create?topic=${run}`,
            `/channel/create?topic=${run}&channel=bridge`,
            `/channel/create?topic=${run}&channel=ceiling`,
          ])
            await fetch(`${server.nsqdHttpUrl}${path}`, { method: 'POST' });
        },
        send: (run, n) =>
          server.publish(
            run,
            Array.from({ length: n }, (_, i) => PAYLOAD(i)),
          ),
        // nsqjs's reader with the source's max in flight, finishing each message.
        async ceiling(run, n) {
          const reader = new nsqjs.Reader(run, 'ceiling', {
            nsqdTCPAddresses: [server.nsqdTcpAddress],
            maxInFlight: 500,
          });
          let seen = 0;
          reader.on('message', (m) => {
            m.finish();
            seen++;
          });
          const started = performance.now();
          reader.connect();
          await waitFor(() => seen >= n, { timeoutMs: 600_000, intervalMs: 5 });
          const ms = performance.now() - started;
          reader.close();
          return ms;
        },
        stop: () => server.stop(),
      };
    },
  },
  {
    name: 'nats',
    acknowledged: false,
    source: () => natsSource as BrokerSourceType<never>,
    async start() {
      const server = await NatsServer.start();
      const nc = await natsConnect({ servers: server.url });
      const subjectOf = (run: string): string => `${run}.in`;
      return {
        keeps: false,
        spec: (run) => ({ nats: { bench: { url: server.url, subject: subjectOf(run) } } }),
        async send(run, n) {
          for (let i = 0; i < n; i++) {
            nc.publish(subjectOf(run), PAYLOAD(i));
            // Paced in chunks: core NATS drops what a slow subscriber cannot take.
            if (i % 200 === 199) await nc.flush();
          }
          await nc.flush();
        },
        async ceiling(run, n, send) {
          const sub = await natsConnect({ servers: server.url });
          let seen = 0;
          sub.subscribe(subjectOf(run), { callback: () => seen++ });
          await sub.flush();
          const started = performance.now();
          await send();
          await waitFor(() => seen >= n, { timeoutMs: 600_000, intervalMs: 5 });
          const ms = performance.now() - started;
          await sub.close();
          return ms;
        },
        async stop() {
          await nc.close();
          await server.stop();
        },
      };
    },
  },
];

/**
 * Kafka: at-least-once from another cluster (`localhost` names another cluster than the bus's
 * `127.0.0.1`, same broker), or exactly-once from the bus's own cluster (consume → produce →
 * commit in one transaction), bridged counted by the source group's committed offsets.
 */
function kafkaCase(exactlyOnce: boolean): BenchCase {
  return {
    name: exactlyOnce ? 'kafka-eos' : 'kafka',
    acknowledged: true,
    source: (host) => kafkaSource(host) as BrokerSourceType<never>,
    async start(brokers) {
      const port = brokers.split(',')[0]!.split(':')[1]!;
      const kafka = createKafka({ brokers: brokers.split(','), clientId: 'bench-peer', logger });
      const topicOf = (run: string): string => `${run}-kafka-in`;
      return {
        keeps: true,
        spec: (run) => ({
          kafka: {
            bench: {
              url: exactlyOnce ? brokers.split(',')[0]! : `localhost:${port}`,
              topic: topicOf(run),
              jsonBody: true,
              consumerGroup: { groupName: `${run}-bridge`, oldest: true },
            },
          },
        }),
        async send(run, n) {
          const admin = kafka.admin();
          await admin.connect();
          await ensureTopics(admin, [
            { topic: topicOf(run), numPartitions: 4, replicationFactor: 1 },
          ]);
          await admin.disconnect();
          const producer = kafka.producer();
          await producer.connect();
          for (let i = 0; i < n; i += 1000) {
            const messages = [];
            for (let j = i; j < Math.min(n, i + 1000); j++)
              messages.push({ key: `k${j}`, value: PAYLOAD(j) });
            await producer.send({ topic: topicOf(run), messages, acks: -1 });
          }
          await producer.disconnect();
        },
        async ceiling(run, n) {
          const consumer = kafka.consumer({ groupId: `${run}-ceiling` });
          let seen = 0;
          const started = performance.now();
          await consumer.connect();
          await consumer.subscribe({ topics: [topicOf(run)], fromBeginning: true });
          await consumer.run({
            eachBatch: async ({ batch, resolveOffset }) => {
              seen += batch.messages.length;
              resolveOffset(batch.lastOffset());
            },
          });
          await waitFor(() => seen >= n, { timeoutMs: 600_000, intervalMs: 5 });
          const ms = performance.now() - started;
          await consumer.disconnect();
          return ms;
        },
        ...(exactlyOnce
          ? {
              async bridged(run: string): Promise<number> {
                const admin = kafka.admin();
                await admin.connect();
                try {
                  const [t] = await admin.fetchOffsets({
                    groupId: `${run}-bridge`,
                    topics: [topicOf(run)],
                  });
                  return (t?.partitions ?? []).reduce(
                    (sum, p) => sum + Math.max(0, Number(p.offset)),
                    0,
                  );
                } finally {
                  await admin.disconnect();
                }
              },
            }
          : {}),
        stop: async () => undefined,
      };
    },
  };
}

interface Row {
  type: string;
  acknowledged: boolean;
  messages: number;
  ceilingPerSecond: number;
  bridgedPerSecond: number;
  ratio: number;
  /** Records per produce request of the bridge. */
  recordsPerBatch: number;
  /** Mean produce request duration (ms). */
  produceMs: number;
  /** Sum of produce durations / elapsed (> 1 with several requests in flight). */
  produceBusy: number;
  /** CPU µs per message of the reference client (this process, ceiling run). */
  ceilingClientCpuUs: number;
  /** CPU µs per message of the bridge (this process: source client, kit, Kafka producer). */
  bridgeCpuUs: number;
  /** CPU µs per message of the bus's Kafka broker during the bridge run (0: KAFKA_BROKERS given). */
  busBrokerCpuUs: number;
}

/** Produce requests the bridge sent in the last run (records per request = messages / batches). */
let batches = 0;
/** Sum of the produce requests' durations in the last run (ms). */
let produceMs = 0;
/** produceMs / elapsed of the last run: the share of the time a produce request was in flight (one lane). */
let lastBusy = 0;

/** Drains `run` through the kit's runner; resolves with the elapsed ms once the bus acknowledged `n`. */
async function bridge(
  c: BenchCase,
  peer: Peer,
  run: string,
  n: number,
  brokers: string,
): Promise<number> {
  let acked = 0;
  batches = 0;
  produceMs = 0;
  const busTopic = `${run}-bus`;
  const fixture = new BusFixture(brokers, busTopic);
  const admin = fixture.kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic: busTopic, numPartitions: 1, replicationFactor: 1 }]);
  await admin.disconnect();
  const clients = new BusClients({ brokers: brokers.split(','), clientId: run, logger });
  const producers = clients.producers({
    ...(IN_FLIGHT ? { maxInFlight: IN_FLIGHT } : {}),
    ...(MAX_BATCH ? { maxBatch: MAX_BATCH } : {}),
    onBatch: (size, ms, ok) => {
      if (!ok) return;
      acked += size;
      batches++;
      produceMs += ms;
    },
  });
  const store = new MemoryStore();
  store.put(fixture.bus());
  const host: OwnedHost = {
    store,
    producers,
    logger,
    stateTopic: `${run}-state`,
    transactionalId: run,
    replicaId: `${run}-replica`,
  };
  const runner = new BrokerEventsRunner(
    host,
    c.source(host),
    undefined,
    WINDOW ? { ...DEFAULT_BROKER_WINDOW, messages: WINDOW } : undefined,
  );
  store.put(eventSource('bench', peer.spec(run)));
  let started = performance.now();
  let profiler: Session | undefined;
  if (PROFILE_DIR) {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  let cpu0 = process.cpuUsage();
  let broker0 = procCpu(brokerPid);
  await runner.start();
  let target = n;
  if (!peer.keeps) {
    // A live peer: probe until the subscription carries messages, then send and measure.
    await waitFor(
      async () => {
        await peer.send(run, 1);
        return acked > 0;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: `${c.name} subscribed` },
    );
    started = performance.now();
    cpu0 = process.cpuUsage();
    broker0 = procCpu(brokerPid);
    target = acked + n;
    await peer.send(run, n);
  }
  const counted = peer.bridged;
  await waitFor(async () => (counted ? (await counted(run)) >= target : acked >= target), {
    timeoutMs: 600_000,
    intervalMs: counted ? 50 : 5,
    what: `${n} ${c.name} messages bridged`,
  });
  const ms = performance.now() - started;
  lastBusy = produceMs / ms;
  cpu.selfUs = cpuSince(cpu0) / n;
  cpu.brokerUs = (procCpu(brokerPid) - broker0) / n;
  if (profiler && PROFILE_DIR) {
    const { profile } = await profiler.post('Profiler.stop');
    mkdirSync(PROFILE_DIR, { recursive: true });
    writeFileSync(resolve(PROFILE_DIR, `${c.name}.cpuprofile`), JSON.stringify(profile));
    profiler.disconnect();
  }
  await runner.stop();
  await clients.close();
  return ms;
}

/**
 * The bus's own limit on this machine: `n` records shaped as the bridge's (Argo's CloudEvent of
 * a stream entry, binary mode, one key) sent through the same batching producer with nothing
 * else running, the window's worth at a time (as the kit keeps at most a window in flight).
 * What a bridge can reach at best; its CPU per record split as above.
 */
async function produceFloor(
  n: number,
  brokers: string,
): Promise<{ perSecond: number; cpuUs: number; brokerUs: number; recordsPerBatch: number }> {
  const run = uniquePrefix('bench-floor');
  const fixture = new BusFixture(brokers, `${run}-bus`);
  const admin = fixture.kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic: fixture.topic, numPartitions: 1, replicationFactor: 1 }]);
  await admin.disconnect();
  const clients = new BusClients({ brokers: brokers.split(','), clientId: run, logger });
  let requests = 0;
  const producer = clients
    .producers({
      ...(IN_FLIGHT ? { maxInFlight: IN_FLIGHT } : {}),
      ...(MAX_BATCH ? { maxBatch: MAX_BATCH } : {}),
      onBatch: () => void requests++,
    })
    .forBus(fixture.bus());
  const record = (i: number): EventRecord =>
    cloudEventRecord(
      {
        id: naturalEventId('default', 'bench', 'bench', `s/${i}-0`),
        type: 'redisStream',
        source: 'bench',
        subject: 'bench',
        data: { stream: 's', message_id: `${i}-0`, values: { payload: PAYLOAD(i) } },
      },
      'bench.bench',
    );
  await producer.send({ topic: fixture.topic, ...record(-1) });
  requests = 0;
  const window = WINDOW || DEFAULT_BROKER_WINDOW.messages;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const broker0 = procCpu(brokerPid);
  let next = 0;
  const inFlight = new Set<Promise<void>>();
  while (next < n) {
    while (next < n && inFlight.size < window) {
      const p = producer.send({ topic: fixture.topic, ...record(next++) });
      inFlight.add(p);
      void p.then(() => inFlight.delete(p));
    }
    await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const ms = performance.now() - started;
  const out = {
    perSecond: Math.round((n / ms) * 1000),
    cpuUs: Math.round(cpuSince(cpu0) / n),
    brokerUs: Math.round((procCpu(brokerPid) - broker0) / n),
    recordsPerBatch: Math.round(n / Math.max(1, requests)),
  };
  await clients.close();
  return out;
}

async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? 'bench/results/broker-sources.json');
  let broker: KafkaBroker | undefined;
  let brokers = process.env['KAFKA_BROKERS'];
  if (!brokers) {
    broker = await KafkaBroker.start({ heap: '512m' });
    brokers = broker.brokers;
    brokerPid = broker.pid;
  }
  const rows: Row[] = [];
  let floor: Awaited<ReturnType<typeof produceFloor>> | undefined;
  try {
    if (!ONLY || ONLY.includes('floor')) {
      floor = await produceFloor(N, brokers);
      console.log(
        `${'bus floor'.padEnd(12)} produce only ${String(floor.perSecond).padStart(8)}/s  ${floor.recordsPerBatch} records/produce  cpu µs/msg: producer ${floor.cpuUs} bus broker ${floor.brokerUs}`,
      );
    }
    for (const c of CASES) {
      if (ONLY && !ONLY.includes(c.name)) continue;
      const peer = await c.start(brokers);
      try {
        const run = uniquePrefix(`bench-${c.name.toLowerCase()}`);
        if (peer.keeps) {
          await peer.prepare?.(run);
          await peer.send(run, N);
        }
        const ceiling0 = process.cpuUsage();
        const ceilingMs = await peer.ceiling(run, N, () => peer.send(run, N));
        const ceilingCpu = cpuSince(ceiling0) / N;
        const bridgedMs = await bridge(c, peer, run, N, brokers);
        const row: Row = {
          type: c.name,
          acknowledged: c.acknowledged,
          messages: N,
          ceilingPerSecond: Math.round((N / ceilingMs) * 1000),
          bridgedPerSecond: Math.round((N / bridgedMs) * 1000),
          ratio: 0,
          recordsPerBatch: batches ? Math.round(N / batches) : 0,
          produceMs: Math.round((produceMs / Math.max(1, batches)) * 10) / 10,
          produceBusy: Math.round(lastBusy * 100) / 100,
          ceilingClientCpuUs: Math.round(ceilingCpu),
          bridgeCpuUs: Math.round(cpu.selfUs),
          busBrokerCpuUs: Math.round(cpu.brokerUs),
        };
        row.ratio = Math.round((row.bridgedPerSecond / row.ceilingPerSecond) * 100) / 100;
        rows.push(row);
        console.log(
          `${c.name.padEnd(12)} ceiling ${String(row.ceilingPerSecond).padStart(8)}/s  bridged ${String(row.bridgedPerSecond).padStart(8)}/s  ${Math.round(row.ratio * 100)}%  ${row.recordsPerBatch} records/produce ${row.produceMs} ms/produce busy ${Math.round(row.produceBusy * 100)}%  cpu µs/msg: client ${row.ceilingClientCpuUs} bridge ${row.bridgeCpuUs} bus broker ${row.busBrokerCpuUs}${c.acknowledged ? '' : ' (no acknowledgement)'}`,
        );
      } finally {
        await peer.stop();
      }
    }
  } finally {
    await broker?.destroy();
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      { date: new Date().toISOString(), cpus: cpus().length, loadavg: loadavg(), floor, rows },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${out}`);
}

await main();
