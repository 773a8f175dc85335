import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, kubeApiServer } from '@ganglion/testing';

/**
 * The RBAC manifests in deploy/rbac, applied with kubectl to a real API server (their
 * "ganglion" namespace renamed to a fresh one), grant each ServiceAccount what it needs and
 * nothing more, in both install modes (checked with `kubectl auth can-i --as`).
 */
async function install(mode: 'namespaced' | 'cluster'): Promise<{
  ns: string;
  can: (sa: string, verb: string, resource: string, where: string) => boolean;
}> {
  const kube = await kubeApiServer();
  await kube.installArgoWorkflowsCrds(); // the trigger's grants name Argo Workflows' kinds
  const ns = await kube.namespace(`ganglion-${mode}`);
  for (const file of ['reconciler.yaml', 'data-plane.yaml']) {
    let text = readFileSync(join(REPO_ROOT, 'deploy', 'rbac', mode, file), 'utf8').replace(
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
  assert.ok(can('ganglion-data-plane', 'get', 'secrets', '.'));
  for (const [verb, res, where] of [
    ['list', 'secrets', '.'],
    ['watch', 'secrets', '.'],
    ['get', 'secrets', 'default'],
    ['get', 'sensors.argoproj.io', '.'],
  ] as const)
    assert.ok(
      !can('ganglion-data-plane', verb, res, where),
      `data plane cannot ${verb} ${res} in ${where}`,
    );
  assert.ok(!can('ganglion-admission', 'get', 'secrets', '.'));
  assert.ok(!can('ganglion-admission', 'get', 'sensors.argoproj.io', '.'));
  // The trigger service: referenced Secrets, source ConfigMaps and Argo Workflows, in its namespace only.
  for (const [verb, res] of [
    ['get', 'secrets'],
    ['get', 'configmaps'],
    ['create', 'workflows.argoproj.io'],
    ['update', 'workflows.argoproj.io'],
    ['get', 'workflowtemplates.argoproj.io'],
    ['get', 'cronworkflows.argoproj.io'],
    ['impersonate', 'serviceaccounts'],
  ] as const)
    assert.ok(can('ganglion-trigger', verb, res, '.'), `trigger can ${verb} ${res}`);
  for (const [verb, res, where] of [
    ['list', 'secrets', '.'],
    ['delete', 'workflows.argoproj.io', '.'],
    ['create', 'workflows.argoproj.io', 'default'],
    ['create', 'jobs.batch', '.'],
  ] as const)
    assert.ok(
      !can('ganglion-trigger', verb, res, where),
      `trigger cannot ${verb} ${res} in ${where}`,
    );
  assert.ok(!can('ganglion-data-plane', 'create', 'workflows.argoproj.io', '.'));
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
  assert.ok(can('ganglion-data-plane', 'get', 'secrets', 'default'));
  assert.ok(!can('ganglion-data-plane', 'list', 'secrets', '*'));
  assert.ok(can('ganglion-trigger', 'create', 'workflows.argoproj.io', 'default'));
  assert.ok(can('ganglion-trigger', 'get', 'secrets', 'default'));
  assert.ok(!can('ganglion-trigger', 'delete', 'workflows.argoproj.io', 'default'));
});

test('the control-plane manifests are accepted by the API server (server-side dry run)', async () => {
  const kube = await kubeApiServer();
  const ns = await kube.namespace('ganglion-deploy');
  for (const file of [
    'deploy/rbac/namespaced/reconciler.yaml',
    'deploy/rbac/namespaced/data-plane.yaml',
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
