import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { kubeApiServer, waitFor } from '@ganglion/testing';
import { ResourceWatcher } from './informer.js';
import { KubeRest } from './rest.js';

/**
 * The informer against a real API server: keys for add/update/delete, and a watch that fails
 * (here: forbidden until RBAC is granted) restarts by itself instead of staying dead.
 */
test('a failing informer restarts and then delivers every change as a key', async () => {
  const kube = await kubeApiServer();
  const ns = await kube.namespace('informer');
  const user = `watcher-${ns}`;
  const kc = new KubeConfig();
  kc.loadFromFile(kube.userKubeconfig(user));
  const keys: string[] = [];
  const errors: unknown[] = [];
  const watcher = new ResourceWatcher<V1ConfigMap>(
    new KubeRest(kc),
    { group: '', version: 'v1', plural: 'configmaps', namespace: ns },
    { onKey: (k) => keys.push(k), onError: (e) => errors.push(e), resyncMs: 0 },
  );
  await watcher.start();
  try {
    await waitFor(() => errors.length >= 2, {
      timeoutMs: 10_000,
      what: 'the forbidden list to fail and be retried',
    });
    assert.equal(watcher.hasSynced, false);

    const admin = kube.adminConfig();
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'cm' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'cm' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm' },
        subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }],
      },
    });
    await waitFor(() => watcher.hasSynced, { timeoutMs: 20_000, what: 'the informer to recover' });

    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'one' }, data: { a: '1' } },
    });
    await waitFor(() => watcher.get(`${ns}/one`)?.data?.['a'] === '1', {
      timeoutMs: 10_000,
      what: 'the add in the cache',
    });
    await core.replaceNamespacedConfigMap({
      namespace: ns,
      name: 'one',
      body: { metadata: { name: 'one' }, data: { a: '2' } },
    });
    await waitFor(() => watcher.get(`${ns}/one`)?.data?.['a'] === '2', {
      timeoutMs: 10_000,
      what: 'the update in the cache',
    });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'one' });
    await waitFor(() => watcher.get(`${ns}/one`) === undefined, {
      timeoutMs: 10_000,
      what: 'the delete',
    });
    assert.deepEqual(keys, [`${ns}/one`, `${ns}/one`, `${ns}/one`]);
  } finally {
    await watcher.stop();
  }
});
