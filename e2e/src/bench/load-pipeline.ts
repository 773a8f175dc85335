/**
 * The load half of the benchmarks (`sensor`, `lean-load`): webhook → sensor → http trigger (or
 * the sensor path alone, or the http-floor relay) as processes on one broker, an open-loop load
 * generator and an HTTP target in this process, offered load stepped up until saturation. Each
 * step reports accepted and delivered events/s, end-to-end latency percentiles, CPU % and CPU µs
 * per delivered event of every process taking part (from /proc), and each service's peak RSS.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { Agent, createServer, request, type Server } from 'node:http';
import os from 'node:os';
import { Agent as UndiciAgent } from 'undici';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafka, TopicReader } from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import {
  countRequests,
  freePort,
  jvmJitCpuSeconds,
  statCpuSeconds,
  uniquePrefix,
} from '@ganglion/testing';
import { manifestDir } from '../harness.js';
import { startService } from '../sensor-harness.js';
export const quiet = createLogger('bench', { level: 'error', write: () => undefined });
const STEP_SECONDS = Number(process.env['BENCH_STEP_SECONDS'] ?? 8);
/** An unreported warm-up step before the ladder. */
const WARMUP_RATE = Number(process.env['BENCH_WARMUP_RATE'] ?? 1000);
const WARMUP_SECONDS = Number(process.env['BENCH_WARMUP_SECONDS'] ?? 20);
const RATES = (process.env['BENCH_RATES'] ?? '500,1000,2500,4000,5000,7500').split(',').map(Number);
export const PARTITIONS = Number(process.env['BENCH_PARTITIONS'] ?? 4);
/** Distinct webhook endpoints (event names): each is one key, so one ordered partition stream. */
const STREAMS = Number(process.env['BENCH_STREAMS'] ?? 4);
/** The ladder's settings from the environment, for the results' `config`. */
export const LADDER = {
  stepSeconds: STEP_SECONDS,
  rates: RATES,
  partitions: PARTITIONS,
  streams: STREAMS,
};

/**
 * BENCH_BROKER_REQUEST_LOG=1: the bench's broker logs every request, and each step prints the
 * broker requests per second by API and client (the logging itself costs broker CPU: use it to
 * count, not to time).
 */
export const REQUEST_LOG =
  process.env['BENCH_BROKER_REQUEST_LOG'] === '1' && !process.env['KAFKA_BROKERS']
    ? join(os.tmpdir(), `ganglion-bench-requests-${process.pid}.log`)
    : undefined;
function requestLogSize(): number {
  try {
    return REQUEST_LOG ? statSync(REQUEST_LOG).size : 0;
  } catch {
    return 0;
  }
}
/** Requests/s by `API client` logged since byte `from` of the request log, over `seconds`. */
function requestsSince(from: number, seconds: number, prefix: string): Record<string, number> {
  if (!REQUEST_LOG) return {};
  const fd = openSync(REQUEST_LOG, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - from));
    readSync(fd, buf, 0, buf.length, from);
    const byKey = new Map<string, number>();
    for (const [k, n] of countRequests(buf.toString('utf8'))) {
      const key = k.replaceAll(`${prefix}-`, '');
      byKey.set(key, (byKey.get(key) ?? 0) + n);
    }
    const out: Record<string, number> = {};
    for (const [k, n] of [...byKey].sort((a, b) => b[1] - a[1])) out[k] = round(n / seconds);
    out['total'] = round([...byKey.values()].reduce((a, b) => a + b, 0) / seconds);
    return out;
  } finally {
    closeSync(fd);
  }
}

const pct = (sorted: number[], p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
export const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;

/** CPU seconds (user+system) and peak RSS (MiB) of a process, from /proc. */
function procStats(pid: number | undefined): { cpu: number; peakRssMb: number } {
  if (!pid) return { cpu: 0, peakRssMb: 0 };
  try {
    const cpu = statCpuSeconds(`/proc/${pid}/stat`);
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpu, peakRssMb: round(Number(hwm?.[1] ?? 0) / 1024) };
  } catch {
    return { cpu: 0, peakRssMb: 0 };
  }
}

/** After the warm-up step, more warm-up blocks until the broker's JIT is quiet (% of a core). */
const JIT_QUIET_PERCENT = Number(process.env['BENCH_JIT_QUIET_PERCENT'] ?? 3);
/** The longest the warm-up waits for the broker's JIT to quiet down (s). */
const SETTLE_MAX_SECONDS = Number(process.env['BENCH_SETTLE_MAX_SECONDS'] ?? 240);
const SETTLE_BLOCK_SECONDS = 10;

export interface Step {
  offered: number;
  sent: number;
  accepted: number;
  rejected503: number;
  delivered: number;
  acceptedPerSec: number;
  deliveredPerSec: number;
  p50ms: number;
  p99ms: number;
  maxMs: number;
  /** Post sent → action committed on P-actions (webhook + sensor share of the latency). */
  toActionP50ms: number;
  toActionP99ms: number;
  /** Post sent → 2xx received: the ingress's durable acknowledgement. */
  ackP50ms: number;
  /** Post sent → the sensor's producer sent the action (its record timestamp), before the commit. */
  sensorSendP50ms: number;
  sensorSendP99ms: number;
  ackP99ms: number;
  cpuPercent: Record<string, number>;
  cpuUsPerEvent: Record<string, number>;
  /** The broker's JIT compiler threads, % of a core over the step (part of `cpuPercent.kafka`). */
  kafkaJitPercent: number;
  /** Each service's peak RSS (MiB, VmHWM) so far: at the end of this step. */
  peakRssMb: Record<string, number>;
  /** With BENCH_BROKER_REQUEST_LOG=1: broker requests/s by `API client`, and `total`. */
  brokerRequestsPerSec?: Record<string, number>;
  saturated: boolean;
}

/**
 * The load generator's HTTP client: undici by default (about half node:http's CPU per request,
 * and this process shares the machine with what it measures); BENCH_CLIENT=http for node:http.
 * `post` resolves with the status (0 when the request failed).
 */
function loadClient(port: number): {
  post: (seq: number) => Promise<number>;
  close: () => Promise<void>;
} {
  const path = (seq: number): string => `/s${seq % STREAMS}`;
  if (process.env['BENCH_CLIENT'] === 'http') {
    const agent = new Agent({ keepAlive: true, maxSockets: 256 });
    return {
      post: (seq) =>
        new Promise((resolve) => {
          const body = JSON.stringify({ seq });
          const req = request(
            {
              host: '127.0.0.1',
              port,
              path: path(seq),
              method: 'POST',
              agent,
              headers: {
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(body),
              },
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', () => resolve(0));
          req.end(body);
        }),
      close: async () => agent.destroy(),
    };
  }
  const dispatcher = new UndiciAgent({ connections: 256 });
  const origin = `http://127.0.0.1:${port}`;
  return {
    post: async (seq) => {
      try {
        const res = await dispatcher.request({
          origin,
          path: path(seq),
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ seq }),
        });
        await res.body.dump();
        return res.statusCode;
      } catch {
        return 0;
      }
    },
    close: () => dispatcher.destroy(),
  };
}

/** A process of the bench's pipeline: a service, or the http-floor relay. */
type BenchProcess = { pid: number | undefined; stop(): Promise<unknown> };

/** Starts http-relay.js listening on `port`, forwarding to `targetPort`. */
async function startRelay(port: number, targetPort: number): Promise<BenchProcess> {
  const child = spawn(
    process.execPath,
    [join(dirname(fileURLToPath(import.meta.url)), 'http-relay.js')],
    {
      env: {
        ...process.env,
        RELAY_PORT: String(port),
        RELAY_TARGET: `http://127.0.0.1:${targetPort}/t`,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  // Ends with the bench, however the bench ends.
  const kill = (): void => void child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`http-relay exited with ${code}`)));
  });
  return {
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** What a {@link pipeline} run may change from the environment's defaults. */
interface PipelineOptions {
  /** The broker's JVM process id, when the bench started it: counted in the CPU figures. */
  brokerPid?: number;
  /** Offered rates (ev/s) of the ladder (default BENCH_RATES). */
  rates?: number[];
  /** Seconds per step (default BENCH_STEP_SECONDS). */
  stepSeconds?: number;
  /** Each step lasts long enough to offer at least this many events (default 0). */
  minEvents?: number;
  /** Steps offering up to this rate run even after a saturated step (default 0). */
  alwaysUpTo?: number;
  /** More environment of the services. */
  env?: Record<string, string>;
}

export async function pipeline(
  brokers: string,
  name: string,
  join: boolean,
  withTrigger = true,
  relayOnly = false,
  options: PipelineOptions = {},
): Promise<{ steps: Step[]; peakRssMb: Record<string, number> }> {
  const rates = options.rates ?? RATES;
  const stepSeconds = options.stepSeconds ?? STEP_SECONDS;
  const prefix = uniquePrefix(`bench-${name}`);
  const webhookPort = await freePort();
  const arrivals = new Map<number, number>();
  const target: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = performance.now() + performance.timeOrigin;
      try {
        const seq = Number(
          (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { seq: unknown }).seq,
        );
        if (!arrivals.has(seq)) arrivals.set(seq, now);
      } catch {
        // ignore
      }
      res.writeHead(200).end();
    });
  });
  const targetPort = await freePort();
  await new Promise<void>((r) => target.listen(targetPort, '127.0.0.1', r));
  const endpoints = Object.fromEntries(
    Array.from({ length: STREAMS }, (_, i) => [
      `s${i}`,
      { port: String(webhookPort), endpoint: `/s${i}`, method: 'POST' },
    ]),
  );
  const sensors: Record<string, string> = {};
  for (let i = 0; i < STREAMS; i++) {
    const deps = join
      ? [
          { name: 'a', eventSourceName: 'webhook', eventName: `s${i}` },
          { name: 'b', eventSourceName: 'webhook', eventName: `s${i}` },
        ]
      : [{ name: 'a', eventSourceName: 'webhook', eventName: `s${i}` }];
    sensors[`sensor${i}.yaml`] = JSON.stringify({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Sensor',
      metadata: { name: `bench${i}` },
      spec: {
        dependencies: deps,
        triggers: [
          {
            template: {
              name: 'http',
              ...(join ? { conditions: 'a && b' } : {}),
              http: {
                url: `http://127.0.0.1:${targetPort}/t`,
                method: 'POST',
                payload: [{ src: { dependencyName: 'a', dataKey: 'body.seq' }, dest: 'seq' }],
              },
            },
          },
        ],
      },
    });
  }
  const dir = manifestDir({
    'eventbus.yaml': `apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: default}\nspec:\n  kafka:\n    topic: ${prefix}-bus\n`,
    'eventsource.yaml': JSON.stringify({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'EventSource',
      metadata: { name: 'webhook' },
      spec: { webhook: endpoints },
    }),
    ...sensors,
  });
  const env = {
    KAFKA_BROKERS: brokers,
    GANGLION_RESOURCES_TOPIC: `${prefix}-resources`,
    GANGLION_RESOURCES_DIR: dir,
    GANGLION_TOPIC_PARTITIONS: String(PARTITIONS),
    LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'warn',
    GANGLION_SENSOR_FETCH_WAIT_MS: process.env['GANGLION_SENSOR_FETCH_WAIT_MS'] ?? '10',
    ...options.env,
  };
  const procs: Record<string, BenchProcess> = {};
  if (relayOnly) procs['relay'] = await startRelay(webhookPort, targetPort);
  else {
    procs['reconciler'] = await startService('reconciler', env, `${prefix}-reconciler`);
    procs['ingress-webhook'] = await startService('ingress-webhook', env, `${prefix}-webhook`);
    procs['sensor'] = await startService('sensor', env, `${prefix}-sensor`);
    if (withTrigger) procs['trigger'] = await startService('trigger', env, `${prefix}-trigger`);
  }

  // Where the time goes: when each action became visible (read_committed) on P-actions. With the
  // trigger service this reader is a second consumer of P-actions that a deployment would not
  // have (about 120 fetches/s and a tenth of a core at 1,000 ev/s), so it runs only when asked.
  const readActions = !relayOnly && (!withTrigger || process.env['BENCH_ACTION_TIMES'] === '1');
  const actionAt = withTrigger ? new Map<number, number>() : arrivals;
  /** The action record's timestamp: when the sensor's producer sent it, inside its transaction. */
  const actionSentAt = new Map<number, number>();
  const actionReader = readActions
    ? new TopicReader({
        kafka: createKafka({ brokers: [brokers], clientId: 'bench-actions', logger: quiet }),
        topics: [`${prefix}-bus-actions`],
        logger: quiet,
        maxWaitMs: 10,
        onRecord: (_t, _p, m) => {
          const a = JSON.parse(m.value?.toString('utf8') ?? '{}') as {
            events?: Record<string, { data?: { body?: { seq?: number } } }>;
          };
          const seq = Number(a.events?.['a']?.data?.body?.seq);
          if (!actionAt.has(seq)) {
            actionAt.set(seq, performance.now() + performance.timeOrigin);
            actionSentAt.set(seq, Number(m.timestamp));
          }
        },
      })
    : undefined;
  if (actionReader) {
    await actionReader.start();
    await actionReader.joined;
  }
  const client = loadClient(webhookPort);
  const post = client.post;

  // Warm-up: one event through every stream.
  let seq = 0;
  const sentAt = new Map<number, number>();
  for (let i = 0; i < STREAMS; i++) {
    const s = seq++;
    sentAt.set(s, performance.now() + performance.timeOrigin);
    await post(s);
  }
  const warmDeadline = Date.now() + 60_000;
  while (arrivals.size < STREAMS && Date.now() < warmDeadline)
    await new Promise((r) => setTimeout(r, 50));

  const steps: Step[] = [];
  // A warm-up step first (not reported): the broker's and the services' JIT compilers otherwise
  // spend the first seconds of the first step, and a fresh broker's C2 thread alone takes a core.
  // Then more warm-up blocks until the broker's JIT compiler is quiet (BENCH_JIT_QUIET_PERCENT,
  // at most BENCH_SETTLE_MAX_SECONDS): the steps measure a broker in its steady state.
  const ladder = [WARMUP_RATE, ...rates];
  const settleUntil = Date.now() + SETTLE_MAX_SECONDS * 1000;
  let warmBlocks = 0;
  for (let i = 0; i < ladder.length; i++) {
    const rate = ladder[i]!;
    const warmUp = i === 0;
    const seconds = warmUp
      ? warmBlocks === 0
        ? WARMUP_SECONDS
        : SETTLE_BLOCK_SECONDS
      : Math.max(stepSeconds, Math.ceil((options.minEvents ?? 0) / rate));
    const first = seq;
    // Every process on the machine that takes part: the services, the broker (when this bench
    // started it) and this process (load generator, HTTP target, action reader).
    const pids: Record<string, number | undefined> = {
      ...Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, p.pid])),
      kafka: options.brokerPid,
      bench: process.pid,
    };
    const cpu0 = Object.fromEntries(
      Object.entries(pids).map(([k, pid]) => [k, procStats(pid).cpu]),
    );
    const jit0 = jvmJitCpuSeconds(options.brokerPid);
    const log0 = requestLogSize();
    const t0 = performance.now();
    const statuses: Promise<number>[] = [];
    const acks: number[] = [];
    const total = rate * seconds;
    const tick = 10; // ms
    for (let i = 0; i < total;) {
      const due = t0 + (i / rate) * 1000;
      const now = performance.now();
      if (due > now) {
        await new Promise((r) => setTimeout(r, Math.max(0, Math.min(tick, due - now))));
        continue;
      }
      const s = seq++;
      const sent = performance.now();
      sentAt.set(s, sent + performance.timeOrigin);
      statuses.push(
        post(s).then((code) => {
          if (code === 200) acks.push(performance.now() - sent);
          return code;
        }),
      );
      i++;
    }
    const results = await Promise.all(statuses);
    const acceptedAt = performance.now();
    const accepted: number[] = [];
    for (let i = 0; i < results.length; i++) if (results[i] === 200) accepted.push(first + i);
    const deadline = Date.now() + 30_000 + seconds * 1000;
    while (accepted.some((s) => !arrivals.has(s)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const delivered = accepted.filter((s) => arrivals.has(s));
    const lastArrival =
      Math.max(...delivered.map((s) => arrivals.get(s)!)) - performance.timeOrigin;
    const lat = delivered.map((s) => arrivals.get(s)! - sentAt.get(s)!).sort((a, b) => a - b);
    const toAction = delivered
      .filter((s) => actionAt.has(s))
      .map((s) => actionAt.get(s)! - sentAt.get(s)!)
      .sort((a, b) => a - b);
    const sensorSend = delivered
      .filter((s) => actionSentAt.has(s))
      .map((s) => actionSentAt.get(s)! - sentAt.get(s)!)
      .sort((a, b) => a - b);
    const elapsed = (performance.now() - t0) / 1000;
    const cpuSeconds = Object.fromEntries(
      Object.entries(pids)
        .filter(([, pid]) => pid !== undefined)
        .map(([k, pid]) => [k, procStats(pid).cpu - cpu0[k]!]),
    );
    const kafkaJitPercent = round(((jvmJitCpuSeconds(options.brokerPid) - jit0) / elapsed) * 100);
    const cpuPercent = Object.fromEntries(
      Object.entries(cpuSeconds).map(([k, s]) => [k, round((s / elapsed) * 100)]),
    );
    // CPU per delivered event (µs): comparable across runs that saturate at different rates.
    const cpuUsPerEvent = Object.fromEntries(
      Object.entries(cpuSeconds).map(([k, s]) => [
        k,
        Math.round((s * 1e6) / Math.max(1, delivered.length)),
      ]),
    );
    cpuUsPerEvent['total'] = Object.values(cpuUsPerEvent).reduce((a, b) => a + b, 0);
    const brokerRequestsPerSec = requestsSince(log0, elapsed, prefix);
    const step: Step = {
      offered: rate,
      sent: total,
      accepted: accepted.length,
      rejected503: results.filter((r) => r === 503).length,
      delivered: delivered.length,
      acceptedPerSec: Math.round(accepted.length / ((acceptedAt - t0) / 1000)),
      deliveredPerSec: Math.round(delivered.length / ((lastArrival - t0) / 1000)),
      p50ms: round(pct(lat, 50)),
      p99ms: round(pct(lat, 99)),
      maxMs: round(lat[lat.length - 1] ?? NaN),
      toActionP50ms: round(pct(toAction, 50)),
      toActionP99ms: round(pct(toAction, 99)),
      sensorSendP50ms: round(pct(sensorSend, 50)),
      sensorSendP99ms: round(pct(sensorSend, 99)),
      ackP50ms: round(
        pct(
          acks.sort((a, b) => a - b),
          50,
        ),
      ),
      ackP99ms: round(pct(acks, 99)),
      cpuPercent,
      cpuUsPerEvent,
      kafkaJitPercent,
      ...(REQUEST_LOG ? { brokerRequestsPerSec } : {}),
      peakRssMb: Object.fromEntries(
        Object.entries(procs).map(([k, p]) => [k, procStats(p.pid).peakRssMb]),
      ),
      saturated: false,
    };
    if (warmUp) {
      warmBlocks++;
      console.log(
        `${name}: warm-up ${seconds} s @ ${rate}/s done (p50 ${step.p50ms} ms, p99 ${step.p99ms} ms, broker JIT ${kafkaJitPercent} % of a core)`,
      );
      // Again, until the broker's JIT compiler is quiet or the settle time is up.
      if (
        options.brokerPid &&
        WARMUP_SECONDS > 0 &&
        kafkaJitPercent > JIT_QUIET_PERCENT &&
        Date.now() < settleUntil
      )
        i--;
      continue;
    }
    step.saturated =
      step.delivered < step.sent * 0.99 || step.deliveredPerSec < rate * 0.9 || step.p99ms > 1000;
    steps.push(step);
    console.log(
      `${name} @ ${rate}/s: accepted ${step.accepted}/${step.sent} (${step.rejected503} × 503), delivered ${step.delivered}, ${step.deliveredPerSec} ev/s, p50 ${step.p50ms} ms, p99 ${step.p99ms} ms, max ${step.maxMs} ms (ack: p50 ${step.ackP50ms} p99 ${step.ackP99ms}; sensor send: p50 ${step.sensorSendP50ms} p99 ${step.sensorSendP99ms}; to action: p50 ${step.toActionP50ms} p99 ${step.toActionP99ms}), CPU % ${JSON.stringify(cpuPercent)}, CPU µs/event ${JSON.stringify(cpuUsPerEvent)} (broker JIT ${kafkaJitPercent} % of a core)${step.saturated ? '  ← saturated' : ''}`,
    );
    if (REQUEST_LOG) {
      const top = Object.entries(brokerRequestsPerSec)
        .slice(0, 16)
        .map(([k, v]) => `    ${String(v).padStart(8)}/s  ${k}`);
      console.log(
        `  broker requests (${brokerRequestsPerSec['total']}/s, ${round((brokerRequestsPerSec['total'] ?? 0) / Math.max(1, step.deliveredPerSec), 2)} per event):\n${top.join('\n')}`,
      );
    }
    if (step.saturated && rate >= (options.alwaysUpTo ?? 0)) break;
  }
  const peakRssMb = Object.fromEntries(
    Object.entries(procs).map(([k, p]) => [k, procStats(p.pid).peakRssMb]),
  );
  console.log(`${name}: peak RSS MiB ${JSON.stringify(peakRssMb)}`);
  await client.close();
  await actionReader?.stop();
  await Promise.all(Object.values(procs).map((p) => p.stop()));
  await new Promise<void>((r) => target.close(() => r()));
  return { steps, peakRssMb };
}
