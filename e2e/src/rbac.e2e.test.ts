import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, kubeApiServer } from '@ganglion/testing';

/**
 * The RBAC manifests in deploy/rbac, applied with kubectl to a real API server (their
 * "ganglion" namespace renamed to a fresh one), grant each service's ServiceAccount what it
 * needs and nothing more, in both install modes (checked with `kubectl auth can-i --as`); that
 * they grant exactly what the charts grant is tools/devstack's charts.test.
 */
async function install(mode: 'namespaced' | 'cluster'): Promise<{
  ns: string;
  can: (sa: string, verb: string, resource: string, where: string) => boolean;
}> {
  const kube = await kubeApiServer();
  await kube.installArgoWorkflowsCrds(); // the trigger's grants name Argo Workflows' kinds
  const ns = await kube.namespace(`ganglion-${mode}`);
  const dir = join(REPO_ROOT, 'deploy', 'rbac', mode);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    let text = readFileSync(join(dir, file), 'utf8').replace(
      /namespace: ganglion$/gm,
      `namespace: ${ns}`,
    );
    // Cluster-scoped names are global: give this run's their own.
    if (mode === 'cluster') text = text.replace(/^( {2}name: ganglion-[a-z-]+)$/gm, `$1-${ns}`);
    const r = kube.kubectl(['apply', '-f', '-'], { stdin: text });
    assert.equal(r.status, 0, r.stderr);
  }
  const can = (sa: string, verb: string, resource: string, where: string): boolean => {
    const r = kube.kubectl([
      'auth',
      'can-i',
      verb,
      resource,
      ...(where === '*' ? ['--all-namespaces'] : ['-n', where === '.' ? ns : where]),
      `--as=system:serviceaccount:${ns}:${sa}`,
    ]);
    return r.stdout.trim() === 'yes';
  };
  return { ns, can };
}

test('namespaced install: least privilege in the one namespace, nothing elsewhere', async () => {
  const { can } = await install('namespaced');
  const rec = 'ganglion-reconciler';
  for (const [verb, res] of [
    ['watch', 'sensors.argoproj.io'],
    ['list', 'eventbus.argoproj.io'],
    ['patch', 'eventsources.argoproj.io'],
    ['patch', 'sensors.argoproj.io/status'],
    ['create', 'services'],
    ['delete', 'services'],
    ['create', 'leases.coordination.k8s.io'],
    ['update', 'leases.coordination.k8s.io/ganglion-reconciler'],
  ] as const)
    assert.ok(can(rec, verb, res, '.'), `reconciler can ${verb} ${res}`);
  for (const [verb, res, where] of [
    ['list', 'sensors.argoproj.io', 'default'],
    ['list', 'sensors.argoproj.io', '*'],
    ['delete', 'sensors.argoproj.io', '.'],
    ['get', 'secrets', '.'],
    ['update', 'leases.coordination.k8s.io/other', '.'],
    ['create', 'deployments.apps', '.'],
  ] as const)
    assert.ok(!can(rec, verb, res, where), `reconciler cannot ${verb} ${res} in ${where}`);
  // Push and pulled sources read the Secrets their EventSources reference; the sensor and the
  // owned sources (calendar, file, resource) read none.
  for (const sa of [
    'ganglion-ingress-webhook',
    'ganglion-ingress-github',
    'ganglion-ingress-kafka',
  ])
    assert.ok(can(sa, 'get', 'secrets', '.'), `${sa} can get secrets`);
  for (const sa of [
    'ganglion-sensor',
    'ganglion-ingress-calendar',
    'ganglion-ingress-file',
    'ganglion-ingress-resource',
    'ganglion-admission',
  ])
    assert.ok(!can(sa, 'get', 'secrets', '.'), `${sa} reads no Secret`);
  for (const [verb, res, where] of [
    ['list', 'secrets', '.'],
    ['watch', 'secrets', '.'],
    ['get', 'secrets', 'default'],
    ['get', 'sensors.argoproj.io', '.'],
  ] as const)
    assert.ok(
      !can('ganglion-ingress-webhook', verb, res, where),
      `ingress cannot ${verb} ${res} in ${where}`,
    );
  assert.ok(!can('ganglion-admission', 'get', 'sensors.argoproj.io', '.'));
  // The trigger service: referenced Secrets and impersonating the Sensors' accounts, in its
  // namespace only; what its k8s and argoWorkflow triggers do is the impersonated account's.
  assert.ok(can('ganglion-trigger', 'get', 'secrets', '.'));
  assert.ok(can('ganglion-trigger', 'impersonate', 'serviceaccounts', '.'));
  for (const [verb, res, where] of [
    ['list', 'secrets', '.'],
    ['impersonate', 'users', '.'],
    ['create', 'workflows.argoproj.io', '.'],
    ['get', 'configmaps', '.'],
    ['get', 'secrets', 'default'],
    ['create', 'jobs.batch', '.'],
  ] as const)
    assert.ok(
      !can('ganglion-trigger', verb, res, where),
      `trigger cannot ${verb} ${res} in ${where}`,
    );
  assert.ok(!can('ganglion-sensor', 'create', 'workflows.argoproj.io', '.'));
});

test('cluster-wide install: the argoproj.io kinds everywhere, the Lease only at home', async () => {
  const { can } = await install('cluster');
  const rec = 'ganglion-reconciler';
  assert.ok(can(rec, 'watch', 'sensors.argoproj.io', '*'));
  assert.ok(can(rec, 'patch', 'eventbus.argoproj.io/status', 'default'));
  assert.ok(can(rec, 'create', 'services', 'default'));
  assert.ok(can(rec, 'update', 'leases.coordination.k8s.io/ganglion-reconciler', '.'));
  assert.ok(!can(rec, 'update', 'leases.coordination.k8s.io/ganglion-reconciler', 'default'));
  assert.ok(!can(rec, 'get', 'secrets', 'default'));
  assert.ok(!can(rec, 'delete', 'sensors.argoproj.io', 'default'));
  assert.ok(can('ganglion-ingress-webhook', 'get', 'secrets', 'default'));
  assert.ok(!can('ganglion-ingress-webhook', 'list', 'secrets', '*'));
  assert.ok(!can('ganglion-sensor', 'get', 'secrets', 'default'));
  assert.ok(!can('ganglion-ingress-calendar', 'get', 'secrets', 'default'));
  assert.ok(can('ganglion-trigger', 'get', 'secrets', 'default'));
  assert.ok(can('ganglion-trigger', 'impersonate', 'serviceaccounts', 'default'));
  assert.ok(!can('ganglion-trigger', 'create', 'workflows.argoproj.io', 'default'));
});

test('the control-plane manifests are accepted by the API server (server-side dry run)', async () => {
  const kube = await kubeApiServer();
  const ns = await kube.namespace('ganglion-deploy');
  for (const file of [
    ...readdirSync(join(REPO_ROOT, 'deploy/rbac/namespaced')).map(
      (f) => `deploy/rbac/namespaced/${f}`,
    ),
    'deploy/control-plane/reconciler.yaml',
    'deploy/control-plane/admission.yaml',
    'deploy/admission/validating-webhook.yaml',
  ]) {
    const text = readFileSync(join(REPO_ROOT, file), 'utf8').replace(
      /namespace: ganglion$/gm,
      `namespace: ${ns}`,
    );
    const r = kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: text });
    assert.equal(r.status, 0, `${file}: ${r.stderr}`);
  }
});
