import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SOURCE_KINDS } from '@ganglion/api';
import { ingressFiles, ingressNames, PLATFORM_SERVICES } from './ingress.generate.js';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));

test('generate: --root writes every artefact, identical to the committed files', () => {
  const root = mkdtempSync(join(tmpdir(), 'ganglion-gen-'));
  const r = spawnSync(process.execPath, [main, 'generate', '--root', root], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const written = r.stdout
    .trim()
    .split('\n')
    .map((l) => l.replace(/^wrote /, ''));
  const perType = (name: string): string[] => [
    `charts/${name}/Chart.yaml`,
    `charts/${name}/templates/${name}.yaml`,
    `charts/${name}/values.yaml`,
    `services/${name}/package.json`,
    `services/${name}/src/main.ts`,
    `services/${name}/tsconfig.json`,
  ];
  assert.deepEqual(
    written.sort(),
    [
      'charts/ganglion/Chart.yaml',
      'charts/ganglion/crds/argoproj.io_eventbus.yaml',
      'charts/ganglion/crds/argoproj.io_eventsources.yaml',
      'charts/ganglion/crds/argoproj.io_sensors.yaml',
      'charts/ganglion/values.yaml',
      ...ingressNames().flatMap(perType),
      'deploy/crds/argoproj.io_eventbus.yaml',
      'deploy/crds/argoproj.io_eventsources.yaml',
      'deploy/crds/argoproj.io_sensors.yaml',
      'deploy/rbac/cluster/ingress.yaml',
      'deploy/rbac/namespaced/ingress.yaml',
      'libs/api/generated/eventbus.schema.json',
      'libs/api/generated/eventsource.schema.json',
      'libs/api/generated/sensor.schema.json',
      'libs/api/src/generated/types.generated.ts',
      'tsconfig.ingress.json',
    ].sort(),
  );
  for (const f of written)
    assert.equal(readFileSync(join(root, f), 'utf8'), readFileSync(join(repo, f), 'utf8'), f);
});

test('generate: one service and one chart per source type of SOURCE_KINDS, and no other ingress', () => {
  const names = Object.keys(SOURCE_KINDS).map((t) => `ingress-${t.toLowerCase()}`);
  assert.deepEqual(ingressNames(), names);
  assert.ok(names.includes('ingress-storagegrid') && names.includes('ingress-calendar'));
  for (const dir of ['services', 'charts'])
    assert.deepEqual(
      readdirSync(join(repo, dir))
        .filter((d) => d.startsWith('ingress-'))
        .sort(),
      [...names].sort(),
      `${dir}/ingress-*`,
    );
  const files = ingressFiles();
  // The kind picks the bootstrap and the autoscaling: push types scale out, owned types run on one replica.
  assert.match(
    files['services/ingress-github/src/main.ts']!,
    /^await bootstrapPushIngress\('github'\);$/m,
  );
  assert.match(
    files['services/ingress-storagegrid/src/main.ts']!,
    /^await bootstrapPushIngress\('storageGrid'\);$/m,
  );
  assert.match(
    files['services/ingress-calendar/src/main.ts']!,
    /^await bootstrapOwnedIngress\('calendar'\);$/m,
  );
  assert.match(files['charts/ingress-github/values.yaml']!, /^autoscaling:\n {2}enabled: true$/m);
  assert.match(files['charts/ingress-resource/values.yaml']!, /^autoscaling:\n {2}enabled: false/m);
  assert.equal(
    JSON.parse(files['services/ingress-file/package.json']!).name,
    '@ganglion/ingress-file',
  );
  const umbrella = files['charts/ganglion/Chart.yaml']!;
  for (const n of [...PLATFORM_SERVICES, ...names])
    assert.ok(umbrella.includes(`  - name: ${n}\n`), `umbrella chart installs ${n}`);
  assert.deepEqual(
    JSON.parse(files['tsconfig.ingress.json']!).references,
    names.map((n) => ({ path: `services/${n}` })),
  );
  assert.ok(
    JSON.parse(readFileSync(join(repo, 'tsconfig.json'), 'utf8')).references.some(
      (r: { path: string }) => r.path === 'tsconfig.ingress.json',
    ),
    'the root tsconfig.json builds the ingress packages',
  );
});

test('cli: unknown command is a usage error', () => {
  const r = spawnSync(process.execPath, [main, 'frobnicate'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
});
