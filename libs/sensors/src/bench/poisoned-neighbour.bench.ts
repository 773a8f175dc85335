/**
 * Benchmark (not a test): a healthy Sensor's per-event processing latency through BusProcessor
 * (in process, no broker), alone and next to a pathological neighbour on the same bus (issue 17):
 * a jq transform that doubles a value 26 times (stopped by the value size limit) and a Lua
 * transform that backtracks inside `string.find` (stopped by its deadline). The healthy Sensor's
 * action is produced in the transaction of the record's batch, so its latency is the time
 * `process()` takes for the record. The last row processes the same Lua-poisoned batch again
 * (a failed transaction's replay), which reuses the remembered `error` routing.
 * Run: `npm run bench -- poisoned-neighbour [deadlineMs] [out.json]`
 * (libs/sensors/dist-test/bench/poisoned-neighbour.bench.js; defaults 100 ms,
 * bench/results/poisoned-neighbour.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Sensor } from '@ganglion/api';
import { compileSensor, type CompiledSensor } from '@ganglion/core';
import {
  busTopics,
  ChangelogMirror,
  CloudEvent,
  createKafka,
  encodeCloudEvent,
  type KafkaMessage,
} from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import { BusProcessor } from '../bus.processor.js';

const deadlineMs = Number(process.argv[2] ?? 100);
const logger = createLogger('poisoned-neighbour-bench', { level: 'error' });
const topics = busTopics('bench-bus');

const sensor = (name: string, transform?: object): CompiledSensor =>
  compileSensor(
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Sensor',
      metadata: { name, namespace: 'ns' },
      spec: {
        dependencies: [
          {
            name: 'd',
            eventSourceName: 'hooks',
            eventName: 'push',
            ...(transform ? { transform } : {}),
            filters: { data: [{ path: 'action', type: 'string', value: ['^opened$'] }] },
          },
        ],
        triggers: [{ template: { name: 't', log: {} } }],
      },
    } as unknown as Sensor,
    'ns',
  );

const healthy = sensor('healthy');
const jqNeighbour = sensor('jq-neighbour', {
  jq: 'reduce range(26) as $i (.; [., .]) | tojson',
});
const luaNeighbour = sensor('lua-neighbour', {
  script: 'return {string.find(("a"):rep(800), ".-.-.-b")}',
});

let offset = 0;
function message(): KafkaMessage {
  const rec = encodeCloudEvent(
    new CloudEvent<unknown>({
      id: `ev-${++offset}`,
      source: 'hooks',
      subject: 'push',
      type: 'webhook',
      datacontenttype: 'application/json',
      data: { action: 'opened', n: offset },
    }),
    'hooks.push',
  );
  return {
    key: Buffer.from(rec.key),
    value: rec.value as Buffer,
    headers: rec.headers,
    timestamp: String(Date.now()),
    offset: String(offset),
    attributes: 0,
  } as KafkaMessage;
}

const mirror = new ChangelogMirror(
  createKafka({ brokers: ['127.0.0.1:9'], clientId: 'poisoned-neighbour-bench', logger }),
  [topics.joinState],
  logger,
);

function processor(sensors: CompiledSensor[]): BusProcessor {
  return new BusProcessor(
    topics,
    { sensors: () => sensors, sensor: (_ns, name) => sensors.find((s) => s.name === name) },
    mirror,
    logger,
    'ganglion-sensor.bench-bus',
    { limits: { luaLimits: { deadlineMs } } },
  );
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

interface Row {
  events: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** `events` records, one batch each; `replay`: each batch is processed twice and the second timed. */
function measure(name: string, sensors: CompiledSensor[], events: number, replay = false): Row {
  const p = processor(sensors);
  const ms: number[] = [];
  for (let i = 0; i < events; i++) {
    const batch = { topic: topics.events, partition: 0, messages: [message()] };
    if (replay) p.process(batch);
    const t0 = performance.now();
    const out = p.process(batch);
    ms.push(performance.now() - t0);
    if (!out.some((r) => r.topic === topics.actions && r.key === 'ns/healthy/t'))
      throw new Error(`${name}: the healthy sensor did not fire`);
  }
  ms.sort((a, b) => a - b);
  const round = (x: number): number => Math.round(x * 100) / 100;
  const row = {
    events,
    p50Ms: round(quantile(ms, 0.5)),
    p99Ms: round(quantile(ms, 0.99)),
    maxMs: round(ms[ms.length - 1]!),
  };
  console.log(
    `${name}: ${events} events, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, max ${row.maxMs} ms`,
  );
  return row;
}

measure('warm-up', [healthy, jqNeighbour, luaNeighbour], 3);
const results = {
  alone: measure('healthy alone', [healthy], 2000),
  jqNeighbour: measure('next to the jq neighbour', [healthy, jqNeighbour], 100),
  luaNeighbour: measure(
    `next to the Lua neighbour (deadline ${deadlineMs} ms)`,
    [healthy, luaNeighbour],
    30,
  ),
  luaNeighbourReplay: measure(
    'next to the Lua neighbour, the batch processed again',
    [healthy, luaNeighbour],
    30,
    true,
  ),
};
const out = resolve(process.argv[3] ?? 'bench/results/poisoned-neighbour.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify({ node: process.version, luaDeadlineMs: deadlineMs, results }, null, 2) + '\n',
);
console.log(`written to ${out}`);
process.exit(0);
