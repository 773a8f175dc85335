import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const fixtures = fileURLToPath(new URL('../../../libs/api/src/fixtures/', import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

const dir = mkdtempSync(join(tmpdir(), 'ganglion-lint-'));
mkdirSync(join(dir, 'sub'));
writeFileSync(
  join(dir, 'broken.yaml'),
  `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: s}
spec:
  dependencies: [{name: d, eventSourceName: es, eventName: e}]
  triggers:
    - template: {name: a, log: {}}
    - template: {name: b, http: {method: POST}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
`,
);
writeFileSync(
  join(dir, 'sub', 'warn.yml'),
  `apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: b}\nspec: {kafka: {topik: x}}\n`,
);
writeFileSync(join(dir, 'notes.txt'), 'not yaml: [');

const cases: { name: string; args: string[]; code: number; lines: string[] }[] = [
  {
    name: 'valid fixtures pass, every source type included, with no warning',
    args: ['--strict', fixtures],
    code: 0,
    lines: ['3 file(s), 35 resource(s) checked, 0 skipped: 0 error(s), 0 warning(s)'],
  },
  {
    name: 'broken file reports path-qualified errors and skips other kinds',
    args: [dir],
    code: 1,
    lines: [
      `${join(dir, 'broken.yaml')}:0: Sensor/s: spec.triggers[1].template.http.url: is required`,
      `${join(dir, 'broken.yaml')}:1: note: skipped ConfigMap (v1): not an Argo Events resource`,
      '1 file(s), 1 resource(s) checked, 1 skipped: 1 error(s), 0 warning(s)',
    ],
  },
  {
    name: '-R descends and warnings alone pass',
    args: ['-R', join(dir, 'sub')],
    code: 0,
    lines: [
      `${join(dir, 'sub', 'warn.yml')}:0: EventBus/b: spec.kafka.topik: warning: unknown field "topik" (did you mean "topic"?); it is ignored`,
    ],
  },
  {
    name: '--strict fails on warnings',
    args: ['--strict', join(dir, 'sub')],
    code: 1,
    lines: [
      `${join(dir, 'sub', 'warn.yml')}:0: EventBus/b: spec.kafka.topik: unknown field "topik" (did you mean "topic"?); it is ignored`,
    ],
  },
  {
    name: 'without -R subdirectories are skipped',
    args: [dir],
    code: 1,
    lines: ['1 file(s), 1 resource(s) checked, 1 skipped: 1 error(s), 0 warning(s)'],
  },
  {
    name: 'missing path is an error',
    args: [join(dir, 'nope.yaml')],
    code: 1,
    lines: [`${join(dir, 'nope.yaml')}: cannot read: ENOENT`],
  },
  { name: '--help', args: ['lint', '--help'].slice(1), code: 0, lines: [] },
];

for (const c of cases)
  test(`lint: ${c.name}`, () => {
    const r = c.name === '--help' ? run('lint', '--help') : run('lint', ...c.args);
    assert.equal(r.status, c.code, r.stdout + r.stderr);
    const out = r.stdout.split('\n');
    for (const l of c.lines) assert.ok(out.includes(l), `missing line\n  ${l}\nin\n${r.stdout}`);
    if (c.name === '--help')
      assert.match(r.stdout, /Usage: ganglion lint PATH\.\.\. \[-R\] \[--strict\]/);
  });

test('lint: no path is a usage error', () => {
  const r = run('lint');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /at least one PATH is required/);
});

test('lint: the manifests the project ships (examples/local, deploy/) are clean under --strict', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const r = run(
    'lint',
    '-R',
    '--strict',
    join(root, 'examples', 'local'),
    join(root, 'deploy', 'eventbus'),
    join(root, 'deploy', 'argocd'),
    join(root, 'deploy', 'governance'),
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, / 0 error\(s\), 0 warning\(s\)/);
  assert.match(r.stdout, /EventBus|resource\(s\) checked/);
});
