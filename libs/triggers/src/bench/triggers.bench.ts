/**
 * Benchmark (not a test): the trigger executor with http triggers against a local HTTP sink.
 * - throughput: actions/s with 1 and with 100 distinct trigger keys (in order per key);
 * - added latency: p50/p99 of submit → outcome recorded at a paced rate, minus the p99 of the
 *   same requests sent directly with the same HTTP client (what the executor adds);
 * - memory under a saturated target (it never answers): how many actions are admitted before
 *   admission blocks, and heap/RSS growth meanwhile.
 * Outcome and DLQ records are acknowledged in memory: the bus's latency is not part of these
 * figures (see docs/triggers/README.md for the end-to-end figure through Kafka).
 * Run: `npm run bench -- triggers [out.json]` (libs/triggers/dist-test/bench/triggers.bench.js) (default bench/results/triggers.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { Trigger } from '@ganglion/api';
import type { ActionRecord } from '@ganglion/core';
import { LocalSecretResolver } from '@ganglion/k8s';
import { createLogger } from '@ganglion/telemetry';
import { HttpClient } from '../common/http.client.js';
import { TriggerExecutor } from '../executor/trigger.executor.js';
import { closeTriggerRegistry, createTriggerRegistry } from '../registry.js';

const logger = createLogger('bench', { level: 'error' });

async function listen(
  handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

let seq = 0;
function action(trigger: Trigger): ActionRecord {
  const id = `bench-${++seq}`;
  return {
    v: 1,
    actionId: id,
    namespace: 'bench',
    sensor: 's',
    trigger,
    createdAt: '',
    events: {
      dep: {
        context: { id, source: 'bench', specversion: '1.0', type: 't', subject: 's' },
        data: { n: seq },
      } as never,
    },
  };
}

const registry = createTriggerRegistry({ logger });
const executor = (
  opts: Partial<ConstructorParameters<typeof TriggerExecutor>[0]> = {},
): TriggerExecutor =>
  new TriggerExecutor({
    plugins: registry,
    secrets: new LocalSecretResolver(undefined, {}),
    logger,
    recordOutcome: async () => undefined,
    recordDeadLetter: async () => undefined,
    ...opts,
  });
const triggers = (url: string, keys: number): Trigger[] =>
  Array.from(
    { length: keys },
    (_, i) =>
      ({
        template: {
          name: `t${i}`,
          http: {
            url: `${url}/sink`,
            payload: [{ src: { dependencyName: 'dep', dataKey: 'n' }, dest: 'n' }],
          },
        },
      }) as Trigger,
  );

async function throughput(url: string, keys: number, n: number): Promise<number> {
  const ex = executor();
  const ts = triggers(url, keys);
  const warm = await Promise.all(
    Array.from({ length: 200 }, (_, i) => ex.submit({ action: action(ts[i % keys]!) })),
  );
  await Promise.all(warm.map((w) => w.done));
  const t0 = performance.now();
  const dones: Promise<void>[] = [];
  for (let i = 0; i < n; i++) dones.push((await ex.submit({ action: action(ts[i % keys]!) })).done);
  await Promise.all(dones);
  const perSecond = Math.round((n * 1000) / (performance.now() - t0));
  await ex.close();
  console.log(
    `throughput, ${keys} trigger key(s): ${perSecond.toLocaleString('en-US')} actions/s (${n} actions)`,
  );
  return perSecond;
}

async function latency(
  url: string,
  keys: number,
  rate: number,
  seconds: number,
): Promise<{ p50: number; p99: number; directP99: number; addedP99: number }> {
  const ex = executor();
  const ts = triggers(url, keys);
  const client = new HttpClient();
  const paced = async (fn: () => Promise<void>): Promise<number[]> => {
    const lat: number[] = [];
    const all: Promise<void>[] = [];
    const total = rate * seconds;
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const t = performance.now();
      all.push(fn().then(() => void lat.push(performance.now() - t)));
    }
    await Promise.all(all);
    return lat;
  };
  const direct = await paced(async () => {
    await client.request({
      method: 'POST',
      url: `${url}/sink`,
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.from('{"n":"1"}'),
      timeoutMs: 10_000,
    });
  });
  let i = 0;
  const viaExecutor = await paced(async () => {
    const { done } = await ex.submit({ action: action(ts[i++ % keys]!) });
    await done;
  });
  client.close();
  await ex.close();
  const r = {
    p50: round(percentile(viaExecutor, 50)),
    p99: round(percentile(viaExecutor, 99)),
    directP99: round(percentile(direct, 99)),
  };
  const out = { ...r, addedP99: round(r.p99 - r.directP99) };
  console.log(
    `latency at ${rate}/s, ${keys} key(s): p50 ${out.p50} ms, p99 ${out.p99} ms; direct request p99 ${out.directP99} ms; added p99 ${out.addedP99} ms`,
  );
  return out;
}

async function saturated(
  keys: number,
): Promise<{ admitted: number; maxBuffered: number; heapGrowthMiB: number; rssMiB: number }> {
  const { server, url } = await listen(() => undefined); // never answers
  const ex = executor({ maxBuffered: 10_000, maxBufferedPerTrigger: 1_000 });
  const ts = triggers(url, keys).map((t) => ({
    ...t,
    template: { ...t.template, http: { ...t.template.http!, timeout: 600 } },
  }));
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  let admitted = 0;
  for (let i = 0; i < 100_000; i++) {
    const sub = ex.submit({ action: action(ts[i % keys]!) });
    const blocked = await Promise.race([
      sub.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), 200)),
    ]);
    if (blocked) break;
    admitted++;
  }
  global.gc?.();
  const mem = process.memoryUsage();
  await ex.close();
  server.closeAllConnections();
  server.close();
  const out = {
    admitted,
    maxBuffered: 10_000,
    heapGrowthMiB: round((mem.heapUsed - heap0) / 2 ** 20, 1),
    rssMiB: round(mem.rss / 2 ** 20, 1),
  };
  console.log(
    `saturated target, ${keys} key(s): admission blocked after ${admitted} actions (bounds: 1000 per trigger, 10000 in all); heap +${out.heapGrowthMiB} MiB, RSS ${out.rssMiB} MiB`,
  );
  return out;
}

const { server, url } = await listen((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200).end());
});
const results = {
  throughput: {
    oneKey: await throughput(url, 1, 20_000),
    hundredKeys: await throughput(url, 100, 20_000),
  },
  latency: {
    oneKey: await latency(url, 1, 1000, 3),
    hundredKeys: await latency(url, 100, 1000, 3),
  },
  saturated: { oneKey: await saturated(1), hundredKeys: await saturated(100) },
};
server.closeAllConnections();
server.close();
await closeTriggerRegistry(registry);
const out = resolve(process.argv[2] ?? 'bench/results/triggers.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      node: process.version,
      cpus: (await import('node:os')).cpus().length,
      units: { throughput: 'actions/s', latency: 'ms', memory: 'MiB' },
      results,
    },
    null,
    2,
  ) + '\n',
);
console.log(`wrote ${out}`);
process.exit(0);
