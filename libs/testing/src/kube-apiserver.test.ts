import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { kubeApiServer, KUBE_VERSION } from './kube-apiserver.js';

test('the test API server serves the CRDs, authenticates client certificates, enforces RBAC and audits writes', async () => {
  const kube = await kubeApiServer();
  const ns = await kube.namespace('infra');
  const admin = kube.adminConfig();
  const custom = admin.makeApiClient(CustomObjectsApi);
  await custom.createNamespacedCustomObject({
    group: 'argoproj.io',
    version: 'v1alpha1',
    namespace: ns,
    plural: 'eventbus',
    body: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'EventBus',
      metadata: { name: 'default' },
      spec: { kafka: { url: 'localhost:9092' } },
    },
  });
  const got = (await custom.getNamespacedCustomObject({
    group: 'argoproj.io',
    version: 'v1alpha1',
    namespace: ns,
    plural: 'eventbus',
    name: 'default',
  })) as { spec: unknown };
  assert.deepEqual(got.spec, { kafka: { url: 'localhost:9092' } });

  // A user with no RBAC binding is authenticated but forbidden.
  const user = `nobody-${ns}`;
  const kc = new KubeConfig();
  kc.loadFromFile(kube.userKubeconfig(user));
  await assert.rejects(
    kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: ns }),
    (e: unknown) => e instanceof ApiException && e.code === 403,
  );
  await assert.rejects(
    kc
      .makeApiClient(CoreV1Api)
      .createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x' } } }),
    (e: unknown) => e instanceof ApiException && e.code === 403,
  );
  const writes = kube.writes(user);
  assert.equal(writes.length, 1);
  assert.equal(writes[0]!.verb, 'create');
  assert.equal(writes[0]!.responseStatus?.code, 403);
  assert.match(KUBE_VERSION, /^1\.\d+\.\d+$/);
});
