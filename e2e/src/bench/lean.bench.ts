/**
 * Benchmark (not a test): `npm run bench -- lean` (docs/benchmarks.md "Idle cost").
 *
 * The cost at rest. On its own broker (or KAFKA_BROKERS, then without the bare-broker window):
 * 1. the bare broker, no client attached, over a window: its CPU (% of one core);
 * 2. the local stack as `npm start` runs it (the core services plus the ingress services
 *    examples/local uses, each a process, `/metrics` served, no Jaeger), examples loaded, no events:
 *    after readiness and a settling pause, over the same window, each process's CPU (% of one core,
 *    from /proc/<pid>/stat utime+stime) and RSS (VmRSS at the end, VmHWM), and the broker's CPU
 *    with Ganglion attached.
 * 3. the first event after an idle period: LATENCY_EVENTS events posted to the example webhook
 *    (127.0.0.1:12000/example), each after IDLE_GAP_S seconds without any (the consumers' fetch
 *    waits have backed off), timed from the post to the example HTTP target receiving the
 *    sensor's http trigger (127.0.0.1:12001, as npm start serves it): p50 and max;
 * 4. the stack stopped, over another window, the floor: a bare Node process with the (patched)
 *    kafkajs connected and one idle group consumer (fetch wait 100 ms backing off to 250 ms, as
 *    the services' loops), what any service pays before doing anything of its own; and the
 *    broker's CPU with that one client.
 * CPU time and RSS are read from /proc, not timed: they hold up on a loaded machine where
 * wall-clock latencies do not. Prints a table and writes bench/results/lean.json.
 *
 * BENCH_IDLE_SECONDS (default 60): the window; BENCH_SETTLE_SECONDS (default 15): the pause
 * after readiness; GANGLION_SERVICE_NODE_ARGS: extra node flags of the services; GANGLION_BUNDLE=0:
 * the services from services/<name>/dist/main.js instead of their bundles (an A/B of bundling).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseManifests, SOURCE_KINDS, type EventSource } from '@ganglion/api';
import {
  countRequests,
  freePort,
  jvmJitCpuSeconds,
  statCpuSeconds,
  KafkaBroker,
  REPO_ROOT,
  SERVICES,
  ServiceProcess,
  type ServiceName,
} from '@ganglion/testing';

const WINDOW_S = Number(process.env['BENCH_IDLE_SECONDS'] ?? 60);
const SETTLE_S = Number(process.env['BENCH_SETTLE_SECONDS'] ?? 15);
const EXAMPLES = join(REPO_ROOT, 'examples', 'local');
/** Events of the after-idle latency probe, and the idle gap before each. */
const LATENCY_EVENTS = Number(process.env['BENCH_LATENCY_EVENTS'] ?? 10);
const IDLE_GAP_S = Number(process.env['BENCH_IDLE_GAP_SECONDS'] ?? 3);
/** BENCH_BROKER_REQUEST_LOG=1: count the broker's requests by API and client over the idle window. */
const REQUEST_LOG =
  process.env['BENCH_BROKER_REQUEST_LOG'] === '1'
    ? join(os.tmpdir(), `ganglion-lean-requests-${process.pid}.log`)
    : undefined;
const logText = (): string => {
  try {
    return REQUEST_LOG ? readFileSync(REQUEST_LOG, 'utf8') : '';
  } catch {
    return '';
  }
};
const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;

/** CPU seconds (user+system, all threads) of a process, from /proc. */
function cpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** Current and peak RSS (MiB) of a process, from /proc. */
function rss(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number =>
    Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rssMb: round(kb('VmRSS') / 1024), peakRssMb: round(kb('VmHWM') / 1024) };
}

/** CPU (% of one core) of each pid over one window. */
async function cpuOver(pids: Map<string, number>, seconds: number): Promise<Map<string, number>> {
  const before = new Map([...pids].map(([n, pid]) => [n, cpuSeconds(pid)]));
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  return new Map(
    [...pids].map(([n, pid]) => [
      n,
      round(((cpuSeconds(pid) - before.get(n)!) / elapsed) * 100, 2),
    ]),
  );
}

/**
 * Waits (10 s blocks, at most BENCH_JIT_SETTLE_MAX_SECONDS, default 180) until the broker's JIT
 * compiler threads used < 0.5 % of a core over a block: the windows then measure a broker in its
 * steady state, not one still compiling what the last minute made hot.
 */
async function jitQuiet(pid: number): Promise<number> {
  const until = Date.now() + Number(process.env['BENCH_JIT_SETTLE_MAX_SECONDS'] ?? 180) * 1000;
  const t0 = Date.now();
  for (;;) {
    const before = jvmJitCpuSeconds(pid);
    await sleep(10_000);
    const percent = (jvmJitCpuSeconds(pid) - before) * 10;
    if (percent < 0.5 || Date.now() > until) return Math.round((Date.now() - t0) / 1000);
  }
}

/** Ingress services the EventSources under `dir` need, besides those in SERVICES (as npm start). */
function ingressServicesFor(dir: string): ServiceName[] {
  const types = new Set<string>();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory() || !/\.ya?ml$/.test(name)) continue;
    for (const doc of parseManifests(readFileSync(path, 'utf8'))) {
      if (doc.resource?.kind !== 'EventSource') continue;
      for (const [key, value] of Object.entries((doc.resource as EventSource).spec))
        if (value && typeof value === 'object' && !['template', 'service'].includes(key))
          types.add(`ingress-${key.toLowerCase()}`);
    }
  }
  const ingress = Object.keys(SOURCE_KINDS).map((t): ServiceName => `ingress-${t.toLowerCase()}`);
  return ingress.filter((s) => types.has(s) && !(SERVICES as readonly string[]).includes(s));
}

/**
 * The floor process: kafkajs as libs/eventbus resolves it (the patched copy), one topic, one
 * idle consumer in a group. Prints `ready` once consuming.
 */
const FLOOR_SCRIPT = `
import { Kafka, logLevel } from 'kafkajs';
const kafka = new Kafka({ brokers: process.env.KAFKA_BROKERS.split(','), clientId: 'floor', logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic: 'lean-floor', numPartitions: 1 }] });
await admin.disconnect();
const consumer = kafka.consumer({ groupId: 'lean-floor', maxWaitTimeInMs: 100, maxIdleWaitTimeInMs: 250 });
await consumer.connect();
await consumer.subscribe({ topics: ['lean-floor'] });
await consumer.run({ eachMessage: async () => {} });
console.log('ready');
`;

/** Starts the floor process; resolves once its consumer runs. */
async function startFloor(kafkaBrokers: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', FLOOR_SCRIPT], {
    cwd: join(REPO_ROOT, 'libs', 'eventbus'),
    env: { ...process.env, KAFKA_BROKERS: kafkaBrokers },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`the floor process exited (${code})`)));
  });
  return child;
}

/**
 * Latencies (ms) of events posted one at a time after IDLE_GAP_S idle seconds each: post to the
 * example webhook, until the example http trigger reaches the target on port 12001.
 */
async function afterIdleLatencies(): Promise<number[]> {
  const arrived = new Map<string, () => void>();
  const target = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.end();
      try {
        const text = (JSON.parse(body) as { text?: string }).text;
        if (text) arrived.get(text)?.();
      } catch {
        // not the example trigger's JSON: not ours
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    target.once('error', reject);
    target.listen(12001, '127.0.0.1', resolve);
  });
  const out: number[] = [];
  try {
    for (let i = 0; i < LATENCY_EVENTS; i++) {
      await sleep(IDLE_GAP_S * 1000);
      const message = `lean-${process.pid}-${i}`;
      const got = new Promise<void>((resolve) => arrived.set(message, resolve));
      const t0 = performance.now();
      const res = await fetch('http://127.0.0.1:12000/example', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message }),
      });
      if (!res.ok) throw new Error(`webhook answered ${res.status}`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        got,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`event ${message} did not reach the target within 30 s`)),
            30_000,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      out.push(round(performance.now() - t0, 1));
    }
  } finally {
    target.close();
    target.closeAllConnections();
  }
  return out;
}

let broker: KafkaBroker | undefined;
let floor: ChildProcess | undefined;
let brokers = process.env['KAFKA_BROKERS'];
const services: ServiceProcess[] = [];
const result: Record<string, unknown> = {
  at: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadavgAtStart: os.loadavg() },
  config: {
    windowSeconds: WINDOW_S,
    settleSeconds: SETTLE_S,
    serviceNodeArgs: process.env['GANGLION_SERVICE_NODE_ARGS'] ?? '',
    bundled: process.env['GANGLION_BUNDLE'] !== '0',
  },
};
try {
  if (!brokers) {
    broker = await KafkaBroker.start(REQUEST_LOG ? { requestLog: REQUEST_LOG } : {});
    brokers = broker.brokers;
    await sleep(SETTLE_S * 1000);
    const waited = await jitQuiet(broker.pid!);
    console.log(
      `bare broker: JIT quiet after ${waited} s more; measuring ${WINDOW_S} s with no client attached...`,
    );
    const jit0 = jvmJitCpuSeconds(broker.pid);
    const bare = await cpuOver(new Map([['broker', broker.pid!]]), WINDOW_S);
    result['bareBrokerCpuPercent'] = bare.get('broker');
    result['bareBrokerJitPercent'] = round(
      ((jvmJitCpuSeconds(broker.pid) - jit0) / WINDOW_S) * 100,
      2,
    );
  }
  const names: ServiceName[] = [...SERVICES, ...ingressServicesFor(EXAMPLES)];
  // A service that exits at start-up (on a loaded machine a topic just created may not be led
  // yet: "not the leader for that topic-partition") is restarted, as its pod would be, twice at most.
  const restarts: string[] = [];
  const up = async (s: ServiceProcess): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await s.ready(180_000);
      } catch (err) {
        if (s.running || attempt === 2) throw err;
        console.log(`${s.name} exited at start-up; restarting it`);
        restarts.push(s.name);
        s.start();
      }
    }
  };
  for (const name of names) {
    const service = new ServiceProcess(name, {
      healthPort: await freePort(),
      metricsPort: await freePort(),
      env: {
        KAFKA_BROKERS: brokers,
        GANGLION_HOST: '127.0.0.1',
        GANGLION_INSTANCE_ID: 'local',
        GANGLION_RESOURCES_DIR: EXAMPLES,
        GANGLION_SECRET_GITHUB_ACCESS_SECRET: 'local-dev-secret',
        LOG_LEVEL: 'warn',
      },
    }).start();
    services.push(service);
    // The reconciler creates the topics the others use: it starts first, as in npm start.
    if (name === 'reconciler') await up(service);
  }
  await Promise.all(services.slice(1).map(up));
  result['restartsAtStartUp'] = restarts;
  console.log(`stack up (${names.join(', ')}); settling ${SETTLE_S} s...`);
  await sleep(SETTLE_S * 1000);
  if (broker) console.log(`broker JIT quiet after ${await jitQuiet(broker.pid!)} s more`);
  console.log(`idle stack: measuring ${WINDOW_S} s...`);
  const pids = new Map(services.map((s) => [s.name as string, s.pid!]));
  if (broker) pids.set('broker', broker.pid!);
  const logFrom = logText().length;
  const jit0 = jvmJitCpuSeconds(broker?.pid);
  const cpu = await cpuOver(pids, WINDOW_S);
  if (broker)
    result['brokerJitPercent'] = round(((jvmJitCpuSeconds(broker.pid) - jit0) / WINDOW_S) * 100, 2);
  if (REQUEST_LOG) {
    const perSec = [...countRequests(logText().slice(logFrom))]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => [k, round(n / WINDOW_S, 2)] as const);
    result['brokerRequestsPerSec'] = Object.fromEntries(perSec);
    console.log('broker requests/s by API and client (the request log costs broker CPU):');
    for (const [k, n] of perSec) console.log(`  ${String(n).padStart(8)}  ${k}`);
  }
  const rows = [...pids].map(([name, pid]) => ({ name, cpuPercent: cpu.get(name)!, ...rss(pid) }));
  const servicesCpu = round(
    rows.filter((r) => r.name !== 'broker').reduce((a, r) => a + r.cpuPercent, 0),
    2,
  );
  result['processes'] = rows;
  result['servicesCpuPercent'] = servicesCpu;
  if (broker) {
    result['brokerCpuPercent'] = cpu.get('broker');
    result['brokerCpuAboveBarePercent'] = round(
      cpu.get('broker')! - (result['bareBrokerCpuPercent'] as number),
      2,
    );
  }
  result['loadavgAtEnd'] = os.loadavg();
  console.log(
    `\n${'process'.padEnd(18)} ${'CPU %'.padStart(7)} ${'RSS MiB'.padStart(8)} ${'peak MiB'.padStart(9)}`,
  );
  for (const r of rows)
    console.log(
      `${r.name.padEnd(18)} ${r.cpuPercent.toFixed(2).padStart(7)} ${r.rssMb.toFixed(1).padStart(8)} ${r.peakRssMb.toFixed(1).padStart(9)}`,
    );
  console.log(`${'services total'.padEnd(18)} ${servicesCpu.toFixed(2).padStart(7)}`);
  if (broker)
    console.log(
      `broker bare ${result['bareBrokerCpuPercent']} %, with Ganglion ${result['brokerCpuPercent']} % (+${result['brokerCpuAboveBarePercent']} %); of which JIT compiler threads: ${result['bareBrokerJitPercent']} % and ${result['brokerJitPercent']} %`,
    );

  console.log(
    `after-idle latency: ${LATENCY_EVENTS} events, each after ${IDLE_GAP_S} s without any...`,
  );
  const latencies = (await afterIdleLatencies()).sort((a, b) => a - b);
  const p50 = latencies[Math.floor((latencies.length - 1) / 2)];
  result['afterIdleLatencyMs'] = {
    idleGapSeconds: IDLE_GAP_S,
    p50,
    max: latencies.at(-1),
    all: latencies,
  };
  console.log(`after-idle latency (post -> target): p50 ${p50} ms, max ${latencies.at(-1)} ms`);

  await Promise.all(services.map((s) => s.stop()));
  floor = await startFloor(brokers);
  await sleep(SETTLE_S * 1000);
  console.log(`floor (node + kafkajs, one idle consumer): measuring ${WINDOW_S} s...`);
  const floorPids = new Map([['floor', floor.pid!]]);
  if (broker) floorPids.set('broker', broker.pid!);
  const floorCpu = await cpuOver(floorPids, WINDOW_S);
  const floorRow = { cpuPercent: floorCpu.get('floor')!, ...rss(floor.pid!) };
  result['floor'] = {
    ...floorRow,
    ...(broker ? { brokerCpuPercent: floorCpu.get('broker') } : {}),
  };
  console.log(
    `floor: CPU ${floorRow.cpuPercent.toFixed(2)} %, RSS ${floorRow.rssMb} MiB` +
      (broker ? `; broker with it ${floorCpu.get('broker')} %` : ''),
  );
} finally {
  floor?.kill();
  await Promise.all(services.map((s) => s.stop()));
  await broker?.destroy();
  if (REQUEST_LOG) rmSync(REQUEST_LOG, { force: true });
}
const out = join(REPO_ROOT, 'bench', 'results', 'lean.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${out}`);
process.exit(0);
