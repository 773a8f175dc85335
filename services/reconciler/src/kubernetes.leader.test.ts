import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CoordinationV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  loadAllYaml,
  type KubernetesObject,
  type V1Role,
} from '@kubernetes/client-node';
import { createKafka, ensureTopics, parseBrokers, resourcesTopicConfig } from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import {
  REPO_ROOT,
  ServiceProcess,
  freePort,
  kafkaBrokers,
  kubeApiServer,
  uniquePrefix,
  waitFor,
  type KubeApiServer,
} from '@ganglion/testing';

/**
 * Two reconciler processes against a real API server, each authenticated as a user that holds
 * only the namespaced install's reconciler Role (deploy/rbac/namespaced/reconciler.yaml): one
 * leads, the other stands by; killing the leader hands the Lease over within the lease duration,
 * and the new leader reconciles.
 */
const LEASE_SECONDS = 3;

/** Binds the Roles of an RBAC manifest in `ns` to `user` instead of the ServiceAccount. */
async function bindManifest(
  kube: KubeApiServer,
  file: string,
  ns: string,
  user: string,
): Promise<void> {
  const rbac = kube.adminConfig().makeApiClient(RbacAuthorizationV1Api);
  for (const doc of loadAllYaml(
    readFileSync(join(REPO_ROOT, file), 'utf8'),
  ) as KubernetesObject[]) {
    if (doc.kind === 'Role')
      await rbac.createNamespacedRole({
        namespace: ns,
        body: { ...(doc as V1Role), metadata: { ...doc.metadata, namespace: ns } },
      });
    if (doc.kind === 'RoleBinding') {
      const b = doc as {
        roleRef: { apiGroup: string; kind: string; name: string };
      } & KubernetesObject;
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: b.metadata!.name, namespace: ns },
          roleRef: b.roleRef,
          subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }],
        },
      });
    }
  }
}

test(
  'two replicas, one active; the standby takes the Lease over within the lease duration when the leader is killed',
  { timeout: 120_000 },
  async () => {
    const kube = await kubeApiServer();
    const brokers = await kafkaBrokers();
    const prefix = uniquePrefix('leader');
    const ns = await kube.namespace('rec-leader');
    const user = `reconciler-${prefix}`;
    await bindManifest(kube, 'deploy/rbac/namespaced/reconciler.yaml', ns, user);
    const kubeconfig = kube.userKubeconfig(user);
    const resourcesTopic = `${prefix}-resources`;
    const kafka = createKafka({
      brokers: parseBrokers(brokers),
      clientId: prefix,
      logger: createLogger('test', { level: 'error' }),
    });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [resourcesTopicConfig(resourcesTopic, 1)]);
    await admin.disconnect();

    const replica = async (id: string): Promise<ServiceProcess> =>
      new ServiceProcess('reconciler', {
        healthPort: await freePort(),
        env: {
          KAFKA_BROKERS: brokers,
          GANGLION_RECONCILER_MODE: 'kubernetes',
          GANGLION_RESOURCES_DIR: '',
          GANGLION_KUBECONFIG: kubeconfig,
          GANGLION_NAMESPACE: ns,
          GANGLION_INSTANCE_ID: id,
          GANGLION_RESOURCES_TOPIC: resourcesTopic,
          GANGLION_TOPIC_PARTITIONS: '1',
          GANGLION_LEASE_DURATION_SECONDS: String(LEASE_SECONDS),
          GANGLION_LEASE_RENEW_DEADLINE_SECONDS: '2',
          GANGLION_LEASE_RETRY_PERIOD_SECONDS: '0.5',
          LOG_LEVEL: 'info',
        },
      }).start();

    const leases = kube.adminConfig().makeApiClient(CoordinationV1Api);
    const holder = async (): Promise<string | undefined> =>
      (
        await leases
          .readNamespacedLease({ namespace: ns, name: 'ganglion-reconciler' })
          .catch(() => undefined)
      )?.spec?.holderIdentity;
    const custom = kube.adminConfig().makeApiClient(CustomObjectsApi);
    const type = { group: 'argoproj.io', version: 'v1alpha1', namespace: ns, plural: 'eventbus' };
    const deployedBus = async (name: string): Promise<boolean> => {
      const o = (await custom
        .getNamespacedCustomObject({ ...type, name })
        .catch(() => undefined)) as
        { status?: { conditions?: { type: string; status: string }[] } } | undefined;
      return (
        o?.status?.conditions?.some((c) => c.type === 'Deployed' && c.status === 'True') ?? false
      );
    };

    const a = await replica('replica-a');
    let b: ServiceProcess | undefined;
    try {
      await a.ready();
      await waitFor(async () => (await holder()) === 'replica-a', {
        timeoutMs: 20_000,
        what: 'replica-a to hold the Lease',
      });
      b = await replica('replica-b');
      await b.ready();
      await custom.createNamespacedCustomObject({
        ...type,
        body: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'EventBus',
          metadata: { name: 'first' },
          spec: { kafka: { topic: `${prefix}-first` } },
        },
      });
      await waitFor(() => deployedBus('first'), {
        timeoutMs: 30_000,
        what: 'the leader to deploy EventBus first',
      });
      assert.equal(await holder(), 'replica-a');
      assert.ok(a.records().some((r) => r['msg'] === 'started leading'));
      assert.ok(
        !b.records().some((r) => r['msg'] === 'started leading'),
        'the standby does not reconcile',
      );

      const killedAt = Date.now();
      await a.stop('SIGKILL');
      await waitFor(async () => (await holder()) === 'replica-b', {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: 'replica-b to take the Lease over',
      });
      const takeoverMs = Date.now() - killedAt;
      // The standby sees the renew time stop changing and waits one lease duration from then.
      assert.ok(
        takeoverMs <= LEASE_SECONDS * 1000 + 1500,
        `takeover took ${takeoverMs} ms (lease ${LEASE_SECONDS} s)`,
      );
      await custom.createNamespacedCustomObject({
        ...type,
        body: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'EventBus',
          metadata: { name: 'second' },
          spec: { kafka: { topic: `${prefix}-second` } },
        },
      });
      await waitFor(() => deployedBus('second'), {
        timeoutMs: 30_000,
        what: 'the new leader to deploy EventBus second',
      });
      console.log(
        `leader failover: Lease taken over ${takeoverMs} ms after the leader was killed (lease duration ${LEASE_SECONDS} s)`,
      );
    } catch (err) {
      console.log(
        `replica-a:\n${a.lines.slice(-15).join('\n')}\nreplica-b:\n${b?.lines.slice(-15).join('\n')}`,
      );
      throw err;
    } finally {
      await Promise.all([a.stop(), b?.stop()]);
    }
  },
);
