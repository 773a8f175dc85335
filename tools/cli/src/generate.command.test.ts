import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));

test('generate: --root writes every artefact, identical to the committed files', () => {
  const root = mkdtempSync(join(tmpdir(), 'ganglion-gen-'));
  const r = spawnSync(process.execPath, [main, 'generate', '--root', root], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const written = r.stdout.trim().split('\n').map((l) => l.replace(/^wrote /, ''));
  assert.deepEqual(written.sort(), [
    'deploy/crds/argoproj.io_eventbus.yaml',
    'deploy/crds/argoproj.io_eventsources.yaml',
    'deploy/crds/argoproj.io_sensors.yaml',
    'libs/api/generated/eventbus.schema.json',
    'libs/api/generated/eventsource.schema.json',
    'libs/api/generated/sensor.schema.json',
    'libs/api/src/generated/types.generated.ts',
  ]);
  for (const f of written) assert.equal(readFileSync(join(root, f), 'utf8'), readFileSync(join(repo, f), 'utf8'), f);
});

test('cli: unknown command is a usage error', () => {
  const r = spawnSync(process.execPath, [main, 'frobnicate'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
});
