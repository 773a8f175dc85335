/**
 * Benchmark (not a test): `npm run bench -- lean-load` (also run by `npm run bench -- lean`;
 * docs/benchmarks.md "Cost under load").
 *
 * The cost under load, per Kafka version (BENCH_KAFKA_VERSIONS, default `3.9.1,4.4.0`), each on
 * its own fresh broker: webhook → 1-dependency sensor → http trigger → HTTP target, the services
 * as processes, with the `sensor` bench's open-loop load generator and target (load-pipeline.ts),
 * offered 50, 100, 500, 1 000 and 2 000 ev/s and then more (BENCH_LEAN_RATES) until a step
 * saturates (< 99 % delivered, < 90 % of the offered rate, or p99 > 1 s). Bounded: each step
 * offers BENCH_STEP_SECONDS (default 8) seconds of events and at least 1 000 events
 * (BENCH_LEAN_MIN_EVENTS); every step up to 2 000 ev/s runs, above that the ladder stops at the
 * first saturated step. Per step: p50/p99,
 * CPU µs per delivered event of the services and the broker (from /proc utime+stime) and with
 * this process (load generator and target) added, and each service's peak RSS so far (VmHWM).
 * The saturation point is the last rate that did not saturate. BENCH_BROKER_REQUEST_LOG=1 also
 * prints the broker's requests/s by API and client per step (costs broker CPU: count, not time). Prints a table per version and
 * writes bench/results/lean-load.json.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { KafkaBroker, REPO_ROOT } from '@ganglion/testing';
import { pipeline, REQUEST_LOG, round, type Step } from './load-pipeline.js';

const VERSIONS = (process.env['BENCH_KAFKA_VERSIONS'] ?? '3.9.1,4.4.0').split(',');
const RATES = (process.env['BENCH_LEAN_RATES'] ?? '50,100,500,1000,2000,3000,4000,5000')
  .split(',')
  .map(Number);
const MIN_EVENTS = Number(process.env['BENCH_LEAN_MIN_EVENTS'] ?? 1000);
/** Argo Events' figures on this machine kind (issue 21): CPU µs per event, all processes. */
const ARGO_US_PER_EVENT: Record<number, number> = { 500: 1095, 1000: 952, 2000: 812 };

interface Row {
  offered: number;
  delivered: number;
  deliveredPerSec: number;
  p50ms: number;
  p99ms: number;
  /** CPU µs per delivered event: the services and the broker. */
  servicesAndBrokerUs: number;
  /** The same plus this process (load generator, HTTP target). */
  allProcessesUs: number;
  cpuUsPerEvent: Record<string, number>;
  /** The broker's JIT compiler threads, % of a core (after the warm-up settled it). */
  kafkaJitPercent: number;
  peakRssMb: Record<string, number>;
  saturated: boolean;
}

const row = (s: Step): Row => {
  const { total = 0, bench = 0 } = s.cpuUsPerEvent;
  return {
    offered: s.offered,
    delivered: s.delivered,
    deliveredPerSec: s.deliveredPerSec,
    p50ms: s.p50ms,
    p99ms: s.p99ms,
    servicesAndBrokerUs: total - bench,
    allProcessesUs: total,
    cpuUsPerEvent: s.cpuUsPerEvent,
    kafkaJitPercent: s.kafkaJitPercent,
    peakRssMb: s.peakRssMb,
    saturated: s.saturated,
  };
};

function print(version: string, rows: Row[]): void {
  const services = Object.keys(rows[0]?.peakRssMb ?? {});
  console.log(`\nKafka ${version}: webhook → sensor → http trigger`);
  console.log(
    [
      'offered'.padStart(7),
      'delivered'.padStart(9),
      'p50 ms'.padStart(7),
      'p99 ms'.padStart(7),
      'µs/ev svc+kafka'.padStart(15),
      'µs/ev all'.padStart(9),
      'Argo'.padStart(5),
      'JIT %'.padStart(5),
      ...services.map((s) => `${s} MiB`.padStart(Math.max(8, s.length + 4))),
    ].join(' '),
  );
  for (const r of rows)
    console.log(
      [
        String(r.offered).padStart(7),
        String(r.deliveredPerSec).padStart(9),
        r.p50ms.toFixed(1).padStart(7),
        r.p99ms.toFixed(1).padStart(7),
        String(r.servicesAndBrokerUs).padStart(15),
        String(r.allProcessesUs).padStart(9),
        String(ARGO_US_PER_EVENT[r.offered] ?? '').padStart(5),
        String(r.kafkaJitPercent).padStart(5),
        ...services.map((s) => String(r.peakRssMb[s] ?? '').padStart(Math.max(8, s.length + 4))),
      ].join(' ') + (r.saturated ? '  ← saturated' : ''),
    );
}

const result: Record<string, unknown> = {
  at: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadavgAtStart: os.loadavg() },
  config: {
    rates: RATES,
    stepSeconds: Number(process.env['BENCH_STEP_SECONDS'] ?? 8),
    minEvents: MIN_EVENTS,
    argoUsPerEvent: ARGO_US_PER_EVENT,
  },
  versions: {},
};
for (const version of VERSIONS) {
  const broker = await KafkaBroker.start({
    heap: '1g',
    version,
    ...(REQUEST_LOG ? { requestLog: REQUEST_LOG } : {}),
  });
  try {
    const { steps, peakRssMb } = await pipeline(
      broker.brokers,
      `lean-load kafka ${version}`,
      false,
      true,
      false,
      { brokerPid: broker.pid!, rates: RATES, minEvents: MIN_EVENTS, alwaysUpTo: 2000 },
    );
    const rows = steps.map(row);
    // The last rate of the ladder's unbroken run of unsaturated steps.
    const firstSaturated = rows.findIndex((r) => r.saturated);
    const sustained = (firstSaturated < 0 ? rows.at(-1) : rows[firstSaturated - 1])?.offered ?? 0;
    (result['versions'] as Record<string, unknown>)[version] = {
      steps: rows,
      peakRssMb,
      saturationPointEvPerSec: sustained,
    };
    print(version, rows);
    console.log(`saturation point (last rate sustained): ${sustained} ev/s`);
  } finally {
    await broker.destroy();
  }
}
if (REQUEST_LOG) rmSync(REQUEST_LOG, { force: true });
result['loadavgAtEnd'] = os.loadavg().map((l) => round(l, 2));
const out = join(REPO_ROOT, 'bench', 'results', 'lean-load.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${out}`);
process.exit(0);
