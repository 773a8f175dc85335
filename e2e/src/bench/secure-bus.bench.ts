/**
 * Benchmark (not a test): `npm run bench -- secure-bus [RATE] [SECONDS] [ROUNDS]`
 * (docs/benchmarks.md).
 *
 * The whole path, webhook → sensor → http trigger → HTTP target, each service its own process,
 * on one broker started here with a PLAINTEXT and a SASL_SSL listener (libs/testing
 * `KafkaBroker.start({ secure: true })`): the same stack and the same open-loop load once on
 * each, rounds alternating (plaintext first in odd rounds, SASL_SSL first in even ones, so a
 * drift of the machine's load hits both alike). On SASL_SSL every service reaches the bus with
 * SCRAM-SHA-512 over TLS verified against the test CA (`KAFKA_TLS_CA_FILE`, `KAFKA_SASL_*`), as
 * e2e/src/bus-security.e2e.test.ts runs it.
 *
 * Per run: a fresh stack, a warm-up (5 s at a quarter of RATE, not reported), then RATE events/s
 * offered for SECONDS (default 2 500/s for 10 s: above what this machine's stack delivers, so the
 * delivered rate is the path's throughput), the delivered events counted at the target until
 * none is missing or 30 s pass. Reported: delivered events/s (accepted events delivered / first
 * post → last arrival), 503s, p50/p99 post → target, and CPU µs per delivered event of each
 * service and the broker (`/proc/<pid>/stat`). The ratio SASL_SSL / plaintext of the medians,
 * throughput (goal ≥ 0.8) and total CPU per event, is printed and written to
 * bench/results/secure-bus.json. `BENCH_CPU_PROF=<dir>` writes each service's V8 CPU profile
 * under <dir>/<mode>-<round>/.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { Agent as UndiciAgent } from 'undici';
import { freePort, KafkaBroker, REPO_ROOT, uniquePrefix } from '@ganglion/testing';
import type { ServiceProcess } from '@ganglion/testing';
import { manifestDir } from '../harness.js';
import { startService } from '../sensor-harness.js';

const RATE = Number(process.argv[2] ?? 2500);
const SECONDS = Number(process.argv[3] ?? 10);
const ROUNDS = Number(process.argv[4] ?? 3);
const STREAMS = 4;
const PARTITIONS = 4;

type Mode = 'plaintext' | 'sasl_ssl';

interface Run {
  mode: Mode;
  round: number;
  offered: number;
  sent: number;
  accepted: number;
  rejected503: number;
  delivered: number;
  deliveredPerSec: number;
  p50ms: number;
  p99ms: number;
  cpuUsPerEvent: Record<string, number>;
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
const pct = (sorted: number[], p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** CPU seconds (user + system) of a process, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

async function run(broker: KafkaBroker, mode: Mode, roundNo: number): Promise<Run> {
  const prefix = uniquePrefix(`secure-bus-${mode}-${roundNo}`);
  const arrivals = new Map<number, number>();
  const target: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = performance.now();
      try {
        const seq = Number((JSON.parse(Buffer.concat(chunks).toString()) as { seq: unknown }).seq);
        if (!arrivals.has(seq)) arrivals.set(seq, now);
      } catch {
        // not one of ours
      }
      res.writeHead(200).end();
    });
  });
  const targetPort = await freePort();
  await new Promise<void>((r) => target.listen(targetPort, '127.0.0.1', r));
  const webhookPort = await freePort();
  const events = Object.fromEntries(
    Array.from({ length: STREAMS }, (_, i) => [
      `s${i}`,
      { port: String(webhookPort), endpoint: `/s${i}`, method: 'POST' },
    ]),
  );
  const sensors = Object.fromEntries(
    Array.from({ length: STREAMS }, (_, i) => [
      `sensor${i}.yaml`,
      JSON.stringify({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Sensor',
        metadata: { name: `bench${i}` },
        spec: {
          dependencies: [{ name: 'a', eventSourceName: 'webhook', eventName: `s${i}` }],
          triggers: [
            {
              template: {
                name: 'http',
                http: {
                  url: `http://127.0.0.1:${targetPort}/t`,
                  method: 'POST',
                  payload: [{ src: { dependencyName: 'a', dataKey: 'body.seq' }, dest: 'seq' }],
                },
              },
            },
          ],
        },
      }),
    ]),
  );
  const dir = manifestDir({
    'eventbus.yaml': `apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: default}\nspec:\n  kafka:\n    topic: ${prefix}-bus\n`,
    'eventsource.yaml': JSON.stringify({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'EventSource',
      metadata: { name: 'webhook' },
      spec: { webhook: events },
    }),
    ...sensors,
  });
  const env: Record<string, string> = {
    KAFKA_BROKERS: mode === 'sasl_ssl' ? broker.secure.saslSsl : broker.brokers,
    GANGLION_RESOURCES_TOPIC: `${prefix}-resources`,
    GANGLION_RESOURCES_DIR: dir,
    GANGLION_TOPIC_PARTITIONS: String(PARTITIONS),
    LOG_LEVEL: 'warn',
  };
  if (mode === 'sasl_ssl') {
    const passwordFile = join(dir, 'kafka-password');
    writeFileSync(passwordFile, `${broker.secure.user.password}\n`);
    Object.assign(env, {
      KAFKA_TLS_CA_FILE: broker.secure.files.ca,
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: broker.secure.user.username,
      KAFKA_SASL_PASSWORD_FILE: passwordFile,
    });
  }
  // BENCH_CPU_PROF=<dir>: each service writes a V8 CPU profile to <dir>/<mode>-<round>/ on exit.
  const profDir = process.env['BENCH_CPU_PROF'];
  if (profDir)
    env['NODE_OPTIONS'] =
      `${process.env['NODE_OPTIONS'] ?? ''} --cpu-prof --cpu-prof-dir=${join(profDir, `${mode}-${roundNo}`)}`.trim();
  const procs: Record<string, ServiceProcess> = {};
  for (const svc of ['reconciler', 'ingress-webhook', 'sensor', 'trigger'] as const)
    procs[svc] = await startService(svc, env, `${prefix}-${svc}`);
  const dispatcher = new UndiciAgent({ connections: 256 });
  const post = async (seq: number): Promise<number> => {
    try {
      const res = await dispatcher.request({
        origin: `http://127.0.0.1:${webhookPort}`,
        path: `/s${seq % STREAMS}`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ seq }),
      });
      await res.body.dump();
      return res.statusCode;
    } catch {
      return 0;
    }
  };
  let seq = 0;
  const sentAt = new Map<number, number>();
  /** Offers `rate`/s for `seconds`, open loop (each post on its due time, not after the previous answer). */
  const offer = async (
    rate: number,
    seconds: number,
  ): Promise<{ first: number; codes: number[] }> => {
    const first = seq;
    const t0 = performance.now();
    const codes: Promise<number>[] = [];
    for (let i = 0; i < rate * seconds;) {
      const due = t0 + (i / rate) * 1000;
      const now = performance.now();
      if (due > now) {
        await new Promise((r) => setTimeout(r, Math.min(10, due - now)));
        continue;
      }
      const s = seq++;
      sentAt.set(s, performance.now());
      codes.push(post(s));
      i++;
    }
    return { first, codes: await Promise.all(codes) };
  };
  const drain = async (accepted: number[]): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (accepted.some((s) => !arrivals.has(s)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
  };
  try {
    // Warm-up (the services' and the broker's JIT, the connections), not reported.
    const warm = await offer(Math.max(1, Math.round(RATE / 4)), 5);
    await drain(warm.codes.flatMap((c, i) => (c === 200 ? [warm.first + i] : [])));
    const pids: Record<string, number | undefined> = {
      ...Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, p.pid])),
      kafka: broker.pid,
    };
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
    const t0 = performance.now();
    const { first, codes } = await offer(RATE, SECONDS);
    const accepted = codes.flatMap((c, i) => (c === 200 ? [first + i] : []));
    await drain(accepted);
    const delivered = accepted.filter((s) => arrivals.has(s));
    const last = Math.max(...delivered.map((s) => arrivals.get(s)!));
    const lat = delivered.map((s) => arrivals.get(s)! - sentAt.get(s)!).sort((a, b) => a - b);
    const cpuUsPerEvent = Object.fromEntries(
      Object.entries(pids).map(([k, pid]) => [
        k,
        Math.round(((cpuSeconds(pid) - cpu0[k]!) * 1e6) / Math.max(1, delivered.length)),
      ]),
    );
    cpuUsPerEvent['total'] = Object.values(cpuUsPerEvent).reduce((a, b) => a + b, 0);
    const r: Run = {
      mode,
      round: roundNo,
      offered: RATE,
      sent: codes.length,
      accepted: accepted.length,
      rejected503: codes.filter((c) => c === 503).length,
      delivered: delivered.length,
      deliveredPerSec: Math.round(delivered.length / ((last - t0) / 1000)),
      p50ms: round1(pct(lat, 50)),
      p99ms: round1(pct(lat, 99)),
      cpuUsPerEvent,
    };
    console.log(
      `round ${roundNo} ${mode.padEnd(9)}: ${r.deliveredPerSec} ev/s delivered (${r.delivered}/${r.sent}, ${r.rejected503} × 503), p50 ${r.p50ms} ms, p99 ${r.p99ms} ms, CPU µs/event ${JSON.stringify(cpuUsPerEvent)}`,
    );
    return r;
  } finally {
    await dispatcher.destroy();
    await Promise.all(Object.values(procs).map((p) => p.stop()));
    await new Promise<void>((r) => target.close(() => r()));
  }
}

const broker = await KafkaBroker.start({ secure: true, heap: '1g' });
const runs: Run[] = [];
try {
  for (let r = 1; r <= ROUNDS; r++) {
    const order: Mode[] = r % 2 ? ['plaintext', 'sasl_ssl'] : ['sasl_ssl', 'plaintext'];
    for (const mode of order) runs.push(await run(broker, mode, r));
  }
} finally {
  await broker.destroy();
}
const of = (mode: Mode) => runs.filter((r) => r.mode === mode);
const summary = Object.fromEntries(
  (['plaintext', 'sasl_ssl'] as const).map((mode) => [
    mode,
    {
      deliveredPerSec: median(of(mode).map((r) => r.deliveredPerSec)),
      rounds: of(mode).map((r) => r.deliveredPerSec),
      cpuUsPerEventTotal: median(of(mode).map((r) => r.cpuUsPerEvent['total']!)),
      cpuUsPerEvent: Object.fromEntries(
        Object.keys(of(mode)[0]!.cpuUsPerEvent).map((k) => [
          k,
          median(of(mode).map((r) => r.cpuUsPerEvent[k]!)),
        ]),
      ),
    },
  ]),
) as Record<
  Mode,
  {
    deliveredPerSec: number;
    rounds: number[];
    cpuUsPerEventTotal: number;
    cpuUsPerEvent: Record<string, number>;
  }
>;
const ratio =
  Math.round((summary.sasl_ssl.deliveredPerSec / summary.plaintext.deliveredPerSec) * 100) / 100;
const cpuRatio =
  Math.round((summary.sasl_ssl.cpuUsPerEventTotal / summary.plaintext.cpuUsPerEventTotal) * 100) /
  100;
console.log(
  `plaintext ${summary.plaintext.deliveredPerSec} ev/s (${summary.plaintext.rounds.join(', ')}), SASL_SSL ${summary.sasl_ssl.deliveredPerSec} ev/s (${summary.sasl_ssl.rounds.join(', ')}): ratio ${ratio} (goal ≥ 0.8); CPU µs/event ${summary.plaintext.cpuUsPerEventTotal} → ${summary.sasl_ssl.cpuUsPerEventTotal} (× ${cpuRatio})`,
);
const out = join(REPO_ROOT, 'bench', 'results', 'secure-bus.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadavg: os.loadavg() },
      config: {
        rate: RATE,
        seconds: SECONDS,
        rounds: ROUNDS,
        streams: STREAMS,
        partitions: PARTITIONS,
      },
      runs,
      summary,
      ratio,
      cpuRatio,
    },
    null,
    2,
  ) + '\n',
);
console.log(`wrote ${out}`);
process.exit(0);
