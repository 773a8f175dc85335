import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  loadAllYaml,
  type KubernetesObject,
  type V1Role,
} from '@kubernetes/client-node';
import { REPO_ROOT, kubeApiServer } from '@ganglion/testing';
import { KubernetesSecretResolver, SecretNotFoundError, createSecretResolver } from './secrets.js';
import { isKubeError, KubeRest } from './rest.js';

/**
 * Secret resolution through a real API server, as the data plane's ServiceAccount: bound only
 * to the webhook ingress's namespaced read-only Role in deploy/rbac/namespaced/ingress.yaml.
 */
test('reads Secret keys through the API with the webhook ingress’s namespaced read-only Role', async () => {
  const kube = await kubeApiServer();
  const ns = await kube.namespace('secrets');
  const other = await kube.namespace('secrets-other');
  const admin = kube.adminConfig();
  const core = admin.makeApiClient(CoreV1Api);
  await core.createNamespacedSecret({
    namespace: ns,
    body: {
      metadata: { name: 'github' },
      data: { token: Buffer.from('s3cr3t').toString('base64') },
      stringData: { plain: 'text' },
    },
  });
  await core.createNamespacedSecret({
    namespace: other,
    body: { metadata: { name: 'github' }, stringData: { token: 'not yours' } },
  });

  const user = `data-plane-${ns}`;
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  for (const doc of loadAllYaml(
    readFileSync(join(REPO_ROOT, 'deploy/rbac/namespaced/ingress.yaml'), 'utf8'),
  ) as KubernetesObject[]) {
    if (doc.metadata?.name !== 'ganglion-ingress-webhook') continue;
    if (doc.kind === 'Role')
      await rbac.createNamespacedRole({
        namespace: ns,
        body: { ...(doc as V1Role), metadata: { name: doc.metadata!.name!, namespace: ns } },
      });
    if (doc.kind === 'RoleBinding') {
      const b = doc as KubernetesObject & {
        roleRef: { apiGroup: string; kind: string; name: string };
      };
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: b.metadata!.name!, namespace: ns },
          roleRef: b.roleRef,
          subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }],
        },
      });
    }
  }
  const kubeconfig = kube.userKubeconfig(user);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const resolver = new KubernetesSecretResolver(new KubeRest(kc));

  assert.equal(await resolver.resolve(ns, { name: 'github', key: 'token' }), 's3cr3t');
  assert.equal(await resolver.resolve(ns, { name: 'github', key: 'plain' }), 'text');
  await assert.rejects(
    resolver.resolve(ns, { name: 'github', key: 'nope' }),
    (e: unknown) => e instanceof SecretNotFoundError && /key "nope"/.test(e.message),
  );
  await assert.rejects(
    resolver.resolve(ns, { name: 'missing', key: 'token' }),
    (e: unknown) => e instanceof SecretNotFoundError && /no such Secret/.test(e.message),
  );
  assert.equal(await resolver.resolve(ns, { name: 'missing', key: 'token', optional: true }), '');
  // Namespaced: another namespace's Secret is forbidden; and the Role cannot list Secrets.
  await assert.rejects(resolver.resolve(other, { name: 'github', key: 'token' }), (e: unknown) =>
    isKubeError(e, 403),
  );
  await assert.rejects(
    kc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: ns }),
    (e: unknown) => e instanceof ApiException && e.code === 403,
  );

  // A rotated value takes effect at once (no cache by default).
  await core.replaceNamespacedSecret({
    namespace: ns,
    name: 'github',
    body: { metadata: { name: 'github' }, stringData: { token: 'rotated' } },
  });
  assert.equal(await resolver.resolve(ns, { name: 'github', key: 'token' }), 'rotated');

  // The factory picks the API in cluster mode and files/env locally.
  const viaFactory = createSecretResolver(
    { secretsSource: 'kubernetes', secretsDir: undefined, kubeconfig },
    {},
  );
  assert.equal(await viaFactory.resolve(ns, { name: 'github', key: 'token' }), 'rotated');
  const local = createSecretResolver(
    { secretsSource: 'local', secretsDir: undefined, kubeconfig: undefined },
    { GANGLION_SECRET_GITHUB_TOKEN: 'from-env' },
  );
  assert.equal(await local.resolve(ns, { name: 'github', key: 'token' }), 'from-env');
});
