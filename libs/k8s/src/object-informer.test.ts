import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { kubeApiServer, waitFor } from '@ganglion/testing';
import { ObjectInformer, type ObjectEvent } from './object-informer.js';
import { KubeRest } from './rest.js';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * The typed informer against a real API server: a list forbidden until RBAC is granted is
 * retried; then ADD / UPDATE (with the previous object) / DELETE of raw objects, a server-side
 * label selector, and a re-list that reports only what changed.
 */
test(
  'ObjectInformer: retries a forbidden list, then reports typed changes with the old object',
  { timeout: 120_000 },
  async () => {
    const kube = await kubeApiServer();
    const ns = await kube.namespace('object-informer');
    const user = `object-watcher-${ns}`;
    const kc = new KubeConfig();
    kc.loadFromFile(kube.userKubeconfig(user));
    const events: ObjectEvent[] = [];
    const errors: unknown[] = [];
    const informer = new ObjectInformer(
      new KubeRest(kc),
      { group: '', version: 'v1', plural: 'configmaps', namespace: ns },
      { onEvent: (e) => events.push(e), onError: (e) => errors.push(e), labelSelector: 'app=x' },
    );
    const admin = kube.adminConfig();
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'before', labels: { app: 'x' } }, data: { a: '0' } },
    });
    await assert.rejects(informer.start(), /HTTP 403/);
    try {
      assert.equal(errors.length, 1);
      assert.equal(informer.hasSynced, false);
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
      await waitFor(() => informer.hasSynced, {
        timeoutMs: 30_000,
        what: 'the informer to recover',
      });
      await waitFor(() => events.length === 1, { what: 'the initial ADD' });
      assert.equal(events[0]!.type, 'ADD');
      assert.equal(events[0]!.obj.kind, 'ConfigMap', 'listed items carry their kind');
      assert.equal(events[0]!.obj.apiVersion, 'v1');
      assert.equal(typeof events[0]!.obj.metadata.creationTimestamp, 'string');

      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'other', labels: { app: 'y' } } },
      });
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'one', labels: { app: 'x' } }, data: { a: '1' } },
      });
      await core.patchNamespacedConfigMap(
        { namespace: ns, name: 'one', body: { data: { a: '2' } } },
        MERGE_PATCH,
      );
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'one' });
      await waitFor(() => events.length === 4, { what: 'ADD, UPDATE and DELETE of one' });
      assert.deepEqual(
        events.slice(1).map((e) => `${e.type}:${e.obj.metadata.name}`),
        ['ADD:one', 'UPDATE:one', 'DELETE:one'],
        'the label selector left "other" out',
      );
      assert.deepEqual(events[2]!.obj['data'], { a: '2' });
      assert.deepEqual(events[2]!.old?.['data'], { a: '1' });

      await informer.relist();
      assert.equal(events.length, 4, 'an unchanged re-list reports nothing');
      await core.patchNamespacedConfigMap(
        { namespace: ns, name: 'before', body: { data: { a: '9' } } },
        MERGE_PATCH,
      );
      await waitFor(() => events.length === 5, { what: 'the UPDATE after the re-list' });
      assert.equal(events[4]!.type, 'UPDATE');
      assert.deepEqual(
        informer.list().map((o) => o.metadata.name),
        ['before'],
      );
    } finally {
      await informer.stop();
    }
  },
);
