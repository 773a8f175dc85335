import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseServiceConfig } from '@ganglion/nest';
import { parseReconcilerSettings } from './reconciler.config.js';

const config = parseServiceConfig('reconciler', {
  KAFKA_BROKERS: 'k:9092',
  GANGLION_KUBECONFIG: '/kube',
});
const names = (name: string) => (e: unknown) =>
  e instanceof ConfigError &&
  (e.message.startsWith(`${name} `) || e.message.startsWith(`${name}:`));

test('the mode: directory when GANGLION_RESOURCES_DIR is set, kubernetes otherwise; a bad mode or a directory mode without a directory fails', () => {
  assert.deepEqual(parseReconcilerSettings(config, { GANGLION_RESOURCES_DIR: '/m' }), {
    mode: 'directory',
    dir: '/m',
  });
  assert.equal(parseReconcilerSettings(config, {}).mode, 'kubernetes');
  assert.equal(
    parseReconcilerSettings(config, {
      GANGLION_RESOURCES_DIR: '/m',
      GANGLION_RECONCILER_MODE: 'kubernetes',
    }).mode,
    'kubernetes',
  );
  assert.throws(
    () => parseReconcilerSettings(config, { GANGLION_RECONCILER_MODE: 'files' }),
    names('GANGLION_RECONCILER_MODE'),
  );
  assert.throws(
    () => parseReconcilerSettings(config, { GANGLION_RECONCILER_MODE: 'directory' }),
    names('GANGLION_RESOURCES_DIR'),
  );
});

test('kubernetes settings: defaults, and each bad value named', () => {
  const s = parseReconcilerSettings(config, { POD_NAMESPACE: 'ops' });
  assert.ok(s.mode === 'kubernetes');
  assert.deepEqual(s.kubernetes, {
    kubeconfig: '/kube',
    namespace: undefined,
    leaderElection: true,
    leaseNamespace: 'ops',
    leaseName: 'ganglion-reconciler',
    leaseDurationSeconds: 15,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    ingressSelector: { 'app.kubernetes.io/name': 'ganglion-ingress-webhook' },
    ingressNamespace: undefined,
    resyncMs: 300_000,
    labelSelector: undefined,
  });
  for (const [name, bad] of [
    ['GANGLION_LEADER_ELECTION', 'maybe'],
    ['GANGLION_LEASE_DURATION_SECONDS', '0'],
    ['GANGLION_LEASE_RENEW_DEADLINE_SECONDS', 'ten'],
    ['GANGLION_LEASE_RETRY_PERIOD_SECONDS', '0.01'],
    ['GANGLION_INGRESS_SELECTOR', 'app'],
    ['GANGLION_RESYNC_SECONDS', '-5'],
  ] as const)
    assert.throws(() => parseReconcilerSettings(config, { [name]: bad }), names(name));
});

test('a bad setting ends start-up with exit code 2 and one line naming the variable', () => {
  const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
  const env = {
    PATH: process.env['PATH'],
    KAFKA_BROKERS: '127.0.0.1:1',
    GANGLION_RECONCILER_MODE: 'files',
  };
  const run = spawnSync(process.execPath, [main], { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 2, run.stdout + run.stderr);
  assert.match(
    run.stdout,
    /configuration error: GANGLION_RECONCILER_MODE must be one of directory, kubernetes, got \\"files\\"/,
  );
});
