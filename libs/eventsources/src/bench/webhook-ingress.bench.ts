/**
 * Benchmark (not a test): webhook ingress acknowledged events/s and latency percentiles on one
 * replica, beside a bare Node HTTP server answering the same requests (the ceiling). The
 * ingress answers 200 only after Kafka acknowledged the event (acks=all, idempotent producer).
 * The load generator runs in a worker thread with keep-alive connections.
 * Run: `node libs/eventsources/dist/bench/webhook-ingress.bench.js [out.json]`
 * (default bench/results/webhook-ingress.json). Env: BENCH_SECONDS (5), BENCH_CONCURRENCY (64),
 * KAFKA_BROKERS (else a local broker is started).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createLogger } from '@ganglion/telemetry';
import { freePort, kafkaBrokers, uniquePrefix } from '@ganglion/testing';
import { BusFixture, eventSource, MemoryStore, startRunner } from '../kit/push-harness.test-support.js';
import { webhookSource } from '../webhook/webhook.source.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 64);
const BODY = JSON.stringify({
  status: 'firing',
  receiver: 'ganglion',
  commonLabels: { alertname: 'HighErrorRate', service: 'checkout', severity: 'critical' },
  alerts: [{ status: 'firing', labels: { alertname: 'HighErrorRate', namespace: 'shop' }, startsAt: '2026-11-23T09:00:00Z', fingerprint: 'c2a8f3e5d1b7a9e4' }],
});

interface Result {
  requests: number;
  ok: number;
  errors: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Drives `port` with CONCURRENCY keep-alive requests in flight for `seconds` (after 1 s warm-up). */
function load(port: number, seconds: number): Promise<Result> {
  const code = `
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
    setTimeout(() => { measuring = true; }, 1000);
    setTimeout(() => { measuring = false; stop = true; }, 1000 + workerData.seconds * 1000);
    Promise.all(Array.from({ length: workerData.concurrency }, loop)).then(() => {
      lat.sort((a, b) => a - b);
      const q = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : 0;
      parentPort.postMessage({ requests: lat.length, ok, errors, perSecond: Math.round(ok / workerData.seconds), p50Ms: +q(0.5).toFixed(2), p99Ms: +q(0.99).toFixed(2) });
      agent.destroy();
    });
  `;
  return new Promise((resolveResult, reject) => {
    const w = new Worker(code, { eval: true, workerData: { port, seconds, concurrency: CONCURRENCY, body: BODY } });
    w.once('message', (m: Result) => resolveResult(m));
    w.once('error', reject);
  });
}

async function bare(): Promise<Result> {
  const port = await freePort();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('success');
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  try {
    return await load(port, SECONDS);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

async function ingress(brokers: string): Promise<Result> {
  const bus = new BusFixture(brokers, `${uniquePrefix('bench')}-bus`);
  const admin = bus.kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: bus.topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const port = await freePort();
  const store = new MemoryStore();
  store.put(bus.bus());
  store.put(eventSource('bench', { webhook: { alerts: { port: String(port), endpoint: '/bench', method: 'POST' } } }));
  const r = await startRunner(webhookSource, store, bus.kafka, { lingerMs: Number(process.env['BENCH_LINGER_MS'] ?? 2) });
  try {
    return await load(port, SECONDS);
  } finally {
    await r.close();
  }
}

const logger = createLogger('bench', { level: 'info' });
const brokers = await kafkaBrokers();
const only = process.env['BENCH_ONLY'];
logger.info('bare Node HTTP server...');
const bareResult = only === 'ingress' ? { requests: 0, ok: 0, errors: 0, perSecond: 0, p50Ms: 0, p99Ms: 0 } : await bare();
console.log(`bare node http: ${bareResult.perSecond.toLocaleString('en-US')} req/s, p50 ${bareResult.p50Ms} ms, p99 ${bareResult.p99Ms} ms`);
logger.info('webhook ingress (durable acknowledgements)...');
const ingressResult = await ingress(brokers);
console.log(`webhook ingress: ${ingressResult.perSecond.toLocaleString('en-US')} acknowledged events/s, p50 ${ingressResult.p50Ms} ms, p99 ${ingressResult.p99Ms} ms, errors ${ingressResult.errors}`);
const ratio = +(ingressResult.perSecond / Math.max(1, bareResult.perSecond)).toFixed(3);
console.log(`ratio: ${(ratio * 100).toFixed(1)}% of the bare server (goal ≥ 50%)`);
const out = resolve(process.argv[2] ?? 'bench/results/webhook-ingress.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify({ node: process.version, cpus: cpus().length, seconds: SECONDS, concurrency: CONCURRENCY, bodyBytes: Buffer.byteLength(BODY), bare: bareResult, ingress: ingressResult, ratio }, null, 2) + '\n',
);
console.log(`wrote ${out}`);
process.exit(0);
