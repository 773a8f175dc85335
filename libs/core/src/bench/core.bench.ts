/**
 * Benchmark (not a test): evaluations per second on one core for a string data filter, a
 * govaluate expr filter, a 3-dependency condition step (`(a || b) && c`, with a cron reset) and a
 * parameter render with a dataTemplate.
 * Run: `npm run bench -- core [out.json]` (libs/core/dist-test/bench/core.bench.js) (default bench/results/core.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { evaluateFilters } from '../filters/index.js';
import { buildPayload } from '../parameters.js';
import type { SensorEvent } from '../event.js';
import { createJoin, initialJoinState, step } from '../conditions/index.js';

const event: SensorEvent = {
  context: { id: '1', source: 'webhook', specversion: '1.0', type: 'webhook', subject: 'example' },
  data: { body: { action: 'opened', n: 42, repo: { name: 'ganglion' } } },
};
const now = new Date('2024-01-01T00:00:00Z');

function run(name: string, fn: () => void, ms = 1000): number {
  const warm = Date.now() + 200;
  while (Date.now() < warm) fn();
  let n = 0;
  const start = performance.now();
  let el = 0;
  while ((el = performance.now() - start) < ms) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  const ops = Math.round((n * 1000) / el);
  console.log(`${name}: ${ops.toLocaleString('en-US')} ops/s`);
  return ops;
}

// Three events feed a `(a || b) && c` join in turn; every third step fires and clears the state.
const join = createJoin(['a', 'b', 'c'], '(a || b) && c', [
  { byTime: { cron: '0 0 * * *', timezone: 'Europe/Berlin' } },
]);
let joinState = initialJoinState(join, now.getTime());
const deps = ['a', 'b', 'c'];
let k = 0;

const results = {
  stringDataFilter: run('string data filter', () =>
    evaluateFilters(
      { data: [{ path: 'body.action', type: 'string', value: ['^opened$'] }] },
      event,
      { now },
    ),
  ),
  exprFilter: run('expr filter (govaluate)', () =>
    evaluateFilters(
      {
        exprs: [
          {
            expr: 'n > 10 && a == "opened"',
            fields: [
              { name: 'n', path: 'body.n' },
              { name: 'a', path: 'body.action' },
            ],
          },
        ],
      },
      event,
      { now },
    ),
  ),
  conditionStep3: run('3-dependency condition step', () => {
    joinState = step(join, joinState, { dependency: deps[k++ % 3]!, event }, now.getTime()).state;
  }),
  parameterRender: run('parameter render (dataTemplate)', () =>
    buildPayload(
      [
        {
          src: {
            dependencyName: 'd',
            dataTemplate: '{{ .Input.body.repo.name | upper }}-{{ .Input.body.action }}',
          },
          dest: 'name',
        },
      ],
      { d: event },
    ),
  ),
};
const out = resolve(process.argv[2] ?? 'bench/results/core.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify({ node: process.version, unit: 'ops/s', results }, null, 2) + '\n',
);
console.log(`wrote ${out}`);
