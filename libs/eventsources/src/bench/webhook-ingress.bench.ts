/**
 * Benchmark (not a test): webhook ingress acknowledged events/s, latency percentiles and CPU time
 * per request on one replica, beside a bare Node HTTP server answering the same requests with
 * the same response (the ceiling). The ingress answers 200 only after Kafka acknowledged the
 * event (acks=all, idempotent producer).
 *
 * Each server runs in its own child process (as a replica does), so its CPU time is read from
 * /proc/<pid>/stat over the measured window; the broker JVM's too when the bench started it.
 * The load generator (this process) keeps CONCURRENCY keep-alive connections, each with one
 * request in flight: node:http's client in a worker thread (default), or pre-encoded requests
 * on raw sockets (BENCH_CLIENT=raw, cheaper, so more CPU is left to the servers). Both servers
 * get the same generator, requests and concurrency, interleaved per concurrency level.
 *
 * Run: `npm run bench -- webhook-ingress [out.json]` (libs/eventsources/dist-test/bench/webhook-ingress.bench.js)
 * (default bench/results/webhook-ingress.json). Env: BENCH_SECONDS (5 per run, after 1 s
 * warm-up), BENCH_CONCURRENCY (comma list, default 16,64,256), BENCH_LINGER_MS (producer
 * linger, default the service's), BENCH_IN_FLIGHT (produce requests in flight, default the
 * service's), BENCH_CLIENT (http|raw), BENCH_ONLY (bare|ingress), BENCH_PROF (directory: the servers
 * run with --cpu-prof into it), KAFKA_BROKERS (else a local broker is started).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BusClients } from '@ganglion/eventbus';
import { LocalSecretResolver } from '@ganglion/k8s';
import { createLogger, processMetrics } from '@ganglion/telemetry';
import { freePort, KafkaBroker, uniquePrefix } from '@ganglion/testing';
import { BusFixture, eventSource, MemoryStore } from '../kit/push-harness.test-support.js';
import { PushIngressRunner } from '../kit/push-ingress.runner.js';
import { PUSH_PRODUCER_OPTIONS } from '../kit/source-host.js';
import { webhookSource } from '../webhook/webhook.source.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const CLIENT = process.env['BENCH_CLIENT'] === 'raw' ? 'raw' : 'http';
const CONCURRENCY = (process.env['BENCH_CONCURRENCY'] ?? '16,64,256').split(',').map(Number);
const BODY = JSON.stringify({
  status: 'firing',
  receiver: 'ganglion',
  commonLabels: { alertname: 'HighErrorRate', service: 'checkout', severity: 'critical' },
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'HighErrorRate', namespace: 'shop' },
      startsAt: '2026-11-23T09:00:00Z',
      fingerprint: 'c2a8f3e5d1b7a9e4',
    },
  ],
});

interface Result {
  requests: number;
  ok: number;
  errors: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time (user + system) of the server process per answered request, µs. */
  cpuUsPerRequest: number;
  /** The server process's CPU use over the window (1 = one core). */
  cpuCores: number;
  /** The broker JVM's CPU time per answered request, µs (when the bench started the broker). */
  brokerCpuUsPerRequest?: number;
  /** Produce requests (batches) the ingress sent in the window, and records per batch. */
  batches?: number;
  recordsPerBatch?: number;
}

const TICK_MS = 10; // USER_HZ = 100 on Linux

/** CPU time (user + system) of a process so far, ms. */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

// ---- server processes ---------------------------------------------------------------------

/** The same response the ingress sends for an accepted event. */
function answer(res: import('node:http').ServerResponse): void {
  res
    .writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 7 })
    .end('success');
}

async function serveBare(): Promise<number> {
  const port = await freePort();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      answer(res);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return port;
}

let batches = 0;
let batchedRecords = 0;

async function serveIngress(brokers: string): Promise<number> {
  const bus = new BusFixture(brokers, `${uniquePrefix('bench')}-bus`);
  const admin = bus.kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: bus.topic, numPartitions: 3, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const port = await freePort();
  const store = new MemoryStore();
  store.put(bus.bus());
  store.put(
    eventSource('bench', {
      webhook: { alerts: { port: String(port), endpoint: '/bench', method: 'POST' } },
    }),
  );
  // As the service wires it (libs/nest ingress.module.ts), plus a batch counter.
  const logger = createLogger('ingress-webhook', { level: 'warn' });
  const observe = processMetrics().batchObserver('events');
  const linger = process.env['BENCH_LINGER_MS'];
  const inFlight = process.env['BENCH_IN_FLIGHT'];
  const producers = new BusClients({
    brokers: brokers.split(','),
    clientId: 'bench-ingress',
    logger,
  }).producers({
    ...PUSH_PRODUCER_OPTIONS,
    ...(inFlight !== undefined ? { maxInFlight: Number(inFlight) } : {}),
    onBatch: (size, ms, ok) => {
      batches++;
      batchedRecords += size;
      observe(size, ms, ok);
    },
    ...(linger !== undefined ? { lingerMs: Number(linger) } : {}),
  });
  const runner = new PushIngressRunner(webhookSource, {
    host: '127.0.0.1',
    logger,
    store,
    producers,
    secrets: new LocalSecretResolver(undefined, {}),
  });
  await runner.start();
  // Connect the producer before the load starts.
  await producers
    .forBus(bus.bus())
    .send({ topic: bus.topic, key: 'warm-up', value: Buffer.from('{}'), headers: {} });
  return port;
}

async function serve(kind: string): Promise<void> {
  const port =
    kind === 'bare' ? await serveBare() : await serveIngress(process.env['BENCH_BROKERS']!);
  process.on('message', (m: string) => {
    if (m === 'stats') process.send!({ batches, records: batchedRecords });
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ port });
}

interface Server {
  child: ChildProcess;
  port: number;
  stats(): Promise<{ batches: number; records: number }>;
}

async function startServer(kind: 'bare' | 'ingress', brokers: string): Promise<Server> {
  const prof = process.env['BENCH_PROF'];
  const child = fork(fileURLToPath(import.meta.url), ['--serve', kind], {
    execArgv: [
      '--enable-source-maps',
      '--disable-warning=TimeoutNegativeWarning',
      ...(prof
        ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${kind}.cpuprofile`]
        : []),
    ],
    env: { ...process.env, BENCH_BROKERS: brokers },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((res, rej) => {
    child.once('message', (m: { port: number }) => res(m.port));
    child.once('exit', (code) => rej(new Error(`${kind} server exited with ${code}`)));
  });
  return {
    child,
    port,
    stats: () =>
      new Promise((res) => {
        child.once('message', (m: { batches: number; records: number }) => res(m));
        child.send('stats');
      }),
  };
}

async function stopServer(s: Server): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  if (process.env['BENCH_PROF']) s.child.disconnect();
  else s.child.kill();
  await exited;
}

// ---- load generator -----------------------------------------------------------------------

type Sample = { lat: number[]; ok: number; errors: number };

/**
 * node:http's client (an `http.Agent` with keep-alive) in a worker thread, as in earlier runs of
 * this benchmark: `concurrency` loops each with one request in flight. Posts 'measuring' when
 * the window opens and the sample when it closes.
 */
const HTTP_CLIENT = `
  const { workerData, parentPort } = require('node:worker_threads');
  const http = require('node:http');
  const agent = new http.Agent({ keepAlive: true, maxSockets: workerData.concurrency });
  const body = Buffer.from(workerData.body);
  const lat = []; let ok = 0, errors = 0, measuring = false, stop = false;
  const one = () => new Promise((resolve) => {
    const t = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port: workerData.port, path: '/bench', method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (measuring) { lat.push(Number(process.hrtime.bigint() - t) / 1e6); if (res.statusCode === 200) ok++; else errors++; }
        resolve();
      });
    });
    req.on('error', () => { if (measuring) errors++; resolve(); });
    req.end(body);
  });
  const loop = async () => { while (!stop) await one(); };
  setTimeout(() => { measuring = true; parentPort.postMessage('measuring'); }, 1000);
  setTimeout(() => { measuring = false; stop = true; parentPort.postMessage({ lat, ok, errors }); }, 1000 + workerData.seconds * 1000);
  Promise.all(Array.from({ length: workerData.concurrency }, loop)).then(() => agent.destroy());
`;

function httpClient(
  port: number,
  concurrency: number,
  seconds: number,
  onMeasuring: () => void,
): Promise<Sample> {
  return new Promise((resolveSample, reject) => {
    const w = new Worker(HTTP_CLIENT, {
      eval: true,
      workerData: { port, seconds, concurrency, body: BODY },
    });
    w.on('message', (m: 'measuring' | Sample) => {
      if (m === 'measuring') onMeasuring();
      else {
        resolveSample(m);
        setTimeout(() => void w.terminate(), 2000).unref();
      }
    });
    w.once('error', reject);
  });
}

/**
 * Raw sockets (BENCH_CLIENT=raw): pre-encoded requests, responses delimited by Content-Length
 * or the last chunk; far cheaper than node:http's client, so more of the machine is left to
 * the server.
 */
async function rawClient(
  port: number,
  concurrency: number,
  seconds: number,
  onMeasuring: () => void,
): Promise<Sample> {
  const request = Buffer.from(
    `POST /bench HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`,
  );
  const sample: Sample = { lat: [], ok: 0, errors: 0 };
  let measuring = false;
  let stop = false;
  const sockets: Socket[] = [];
  const connection = (): Promise<void> =>
    new Promise((done) => {
      let buf = '';
      let sent = 0n;
      const socket = connect(port, '127.0.0.1');
      sockets.push(socket);
      socket.setNoDelay(true);
      const send = (): void => {
        sent = process.hrtime.bigint();
        socket.write(request);
      };
      socket.on('connect', send);
      socket.on('data', (chunk: Buffer) => {
        buf += chunk.toString('latin1');
        const head = buf.indexOf('\r\n\r\n');
        if (head < 0) return;
        const length = /\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, head));
        let end: number;
        if (length) end = head + 4 + Number(length[1]);
        else {
          const last = buf.indexOf('\r\n0\r\n\r\n', head + 2);
          end = last < 0 ? Infinity : last + 7;
        }
        if (buf.length < end) return;
        if (measuring) {
          sample.lat.push(Number(process.hrtime.bigint() - sent) / 1e6);
          if (buf.startsWith('HTTP/1.1 200')) sample.ok++;
          else sample.errors++;
        }
        buf = '';
        if (stop) {
          socket.end();
          done();
        } else send();
      });
      socket.on('error', () => {
        if (measuring) sample.errors++;
        done();
      });
      socket.on('close', () => done());
    });
  const all = Promise.all(Array.from({ length: concurrency }, connection));
  await new Promise((r) => setTimeout(r, 1000));
  onMeasuring();
  measuring = true;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const result = { lat: sample.lat.slice(), ok: sample.ok, errors: sample.errors };
  stop = true;
  await Promise.race([all, new Promise((r) => setTimeout(r, 10_000))]);
  for (const s of sockets) s.destroy();
  return result;
}

/** Drives `server` with `concurrency` keep-alive connections for `seconds` after a 1 s warm-up. */
async function load(
  server: Server,
  concurrency: number,
  seconds: number,
  brokerPid: number | undefined,
): Promise<Result> {
  let before:
    | { server: number; broker: number; stats: Promise<{ batches: number; records: number }> }
    | undefined;
  const onMeasuring = (): void => {
    before = { server: cpuMs(server.child.pid), broker: cpuMs(brokerPid), stats: server.stats() };
  };
  const client = CLIENT === 'raw' ? rawClient : httpClient;
  const sample = await client(server.port, concurrency, seconds, onMeasuring);
  const after = {
    server: cpuMs(server.child.pid),
    broker: cpuMs(brokerPid),
    stats: await server.stats(),
  };
  const start = { ...before!, stats: await before!.stats };
  const { lat, ok, errors } = sample;
  lat.sort((a, b) => a - b);
  const q = (p: number): number =>
    lat.length ? +lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(2) : 0;
  const answered = Math.max(1, ok + errors);
  const batches = after.stats.batches - start.stats.batches;
  const records = after.stats.records - start.stats.records;
  return {
    requests: lat.length,
    ok,
    errors,
    perSecond: Math.round(ok / seconds),
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    cpuUsPerRequest: Math.round(((after.server - start.server) * 1000) / answered),
    cpuCores: +((after.server - start.server) / (seconds * 1000)).toFixed(2),
    ...(brokerPid !== undefined
      ? { brokerCpuUsPerRequest: Math.round(((after.broker - start.broker) * 1000) / answered) }
      : {}),
    ...(batches > 0 ? { batches, recordsPerBatch: +(records / batches).toFixed(1) } : {}),
  };
}

// ---- main ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  const logger = createLogger('bench', { level: 'info' });
  let broker: KafkaBroker | undefined;
  let brokers = process.env['KAFKA_BROKERS'];
  if (!brokers) {
    broker = await KafkaBroker.start();
    brokers = broker.brokers;
  }
  const only = process.env['BENCH_ONLY'];
  const bare = only === 'ingress' ? undefined : await startServer('bare', brokers);
  const ingress = only === 'bare' ? undefined : await startServer('ingress', brokers);
  const none: Result = {
    requests: 0,
    ok: 0,
    errors: 0,
    perSecond: 0,
    p50Ms: 0,
    p99Ms: 0,
    cpuUsPerRequest: 0,
    cpuCores: 0,
  };
  const fmt = (r: Result): string =>
    `${r.perSecond.toLocaleString('en-US')} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, errors ${r.errors}, server CPU ${r.cpuUsPerRequest} µs/req (${r.cpuCores} cores)` +
    (r.brokerCpuUsPerRequest !== undefined && r.batches
      ? `, broker CPU ${r.brokerCpuUsPerRequest} µs/req, ${r.recordsPerBatch} records/batch`
      : '');
  // CPU use with no load (timers, the broker's background work): part of every per-request figure.
  const idle0 = {
    bare: cpuMs(bare?.child.pid),
    ingress: cpuMs(ingress?.child.pid),
    broker: cpuMs(broker?.pid),
  };
  await new Promise((r) => setTimeout(r, 3000));
  const idle = {
    bareCores: +((cpuMs(bare?.child.pid) - idle0.bare) / 3000).toFixed(3),
    ingressCores: +((cpuMs(ingress?.child.pid) - idle0.ingress) / 3000).toFixed(3),
    brokerCores: +((cpuMs(broker?.pid) - idle0.broker) / 3000).toFixed(3),
  };
  console.log(
    `idle CPU (cores): bare ${idle.bareCores}, ingress ${idle.ingressCores}, broker ${broker ? idle.brokerCores : 'n/a'}`,
  );
  const runs: {
    concurrency: number;
    loadavg: number;
    bare: Result;
    ingress: Result;
    ratio: number;
  }[] = [];
  for (const c of CONCURRENCY) {
    const la = +loadavg()[0]!.toFixed(2);
    logger.info('run', { concurrency: c, loadavg: la });
    const b = bare ? await load(bare, c, SECONDS, undefined) : none;
    console.log(`c=${c} bare node http:   ${fmt(b)}`);
    const i = ingress ? await load(ingress, c, SECONDS, broker?.pid) : none;
    console.log(`c=${c} webhook ingress: ${fmt(i)}`);
    const ratio = +(i.perSecond / Math.max(1, b.perSecond)).toFixed(3);
    console.log(`c=${c} ratio: ${(ratio * 100).toFixed(1)}% of the bare server (goal ≥ 50%)`);
    runs.push({ concurrency: c, loadavg: la, bare: b, ingress: i, ratio });
  }
  for (const s of [bare, ingress]) if (s) await stopServer(s);
  await broker?.destroy();
  const out = resolve(process.argv[2] ?? 'bench/results/webhook-ingress.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        node: process.version,
        cpus: cpus().length,
        seconds: SECONDS,
        bodyBytes: Buffer.byteLength(BODY),
        idle,
        client:
          CLIENT === 'raw'
            ? 'raw keep-alive sockets, one request in flight each'
            : 'node:http keep-alive agent in a worker thread, one request in flight per connection',
        runs,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${out}`);
}

if (process.argv[2] === '--serve') await serve(process.argv[3]!);
else {
  await main();
  process.exit(0);
}
