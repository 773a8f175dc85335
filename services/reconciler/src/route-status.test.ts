import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { KubernetesReconciler } from '@ganglion/control';
import {
  BusClients,
  ensureTopics,
  parseBrokers,
  resourcesTopicConfig,
  ResourceStore,
  RouteStatusReporter,
  routeStatusTopic,
} from '@ganglion/eventbus';
import { pushSources, PushIngressRunner } from '@ganglion/eventsources';
import { createSecretResolver } from '@ganglion/k8s';
import { createLogger } from '@ganglion/telemetry';
import { freePort, kafkaBrokers, kubeApiServer, uniquePrefix, waitFor } from '@ganglion/testing';

/**
 * An empty or missing webhook secret never leaves a route open, and the EventSource says so:
 * the real reconciler (Kubernetes mode, real API server) and a real push ingress (Secrets read
 * from that API server) over a real broker. The ingress reports the route it does not serve on
 * the route status topic; the reconciler turns it into `RoutesServed=False` naming the Secret,
 * and back to True once the Secret is fixed (re-read without a restart). A route conflict is
 * still a `RouteConflict`, with no RoutesServed claim about a route never published.
 */
const logger = createLogger('route-status-test', { level: 'warn' });

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface Obj {
  metadata: { generation?: number };
  status?: { observedGeneration?: number; conditions?: Cond[] };
}
const cond = (o: Obj | undefined, type: string): Cond | undefined =>
  o?.status?.conditions?.find((c) => c.type === type);

test(
  'a missing or empty webhook secret: route not served, RoutesServed=False naming the Secret; fixed Secret: served, condition True',
  { timeout: 240_000 },
  async () => {
    const kube = await kubeApiServer();
    const prefix = uniquePrefix('routestatus');
    const ns = await kube.namespace('route-status');
    const kubeconfig = kube.userKubeconfig(`reconciler-${prefix}`, ['system:masters']);
    const clients = new BusClients({
      brokers: parseBrokers(await kafkaBrokers()),
      clientId: prefix,
      logger,
    });
    const kafka = clients.installation;
    const resourcesTopic = `${prefix}-resources`;
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [resourcesTopicConfig(resourcesTopic, 1)]);
    await admin.disconnect();
    const store = new ResourceStore(kafka, resourcesTopic, logger);
    await store.start();
    await store.ready;
    const reconciler = new KubernetesReconciler(clients, store, {
      kubeconfig,
      namespace: ns,
      leaderElection: false,
      leaseNamespace: ns,
      leaseName: 'unused',
      leaseDurationSeconds: 15,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2000,
      ingressSelector: { app: 'ingress' },
      ingressNamespace: undefined,
      resyncMs: 0,
      labelSelector: undefined,
      resourcesTopic,
      partitions: 1,
      replicationFactor: 1,
      instanceId: prefix,
      logger,
    });
    reconciler.start();
    // The ingress: the webhook type, Secrets from the API server, routes re-evaluated every 500 ms.
    const port = await freePort();
    const producers = clients.producers({});
    const reporter = new RouteStatusReporter(kafka, routeStatusTopic(resourcesTopic), logger);
    const ingress = new PushIngressRunner((await pushSources.webhook()) as never, {
      host: '127.0.0.1',
      logger,
      store,
      producers,
      secrets: createSecretResolver(
        { secretsSource: 'kubernetes', secretsDir: undefined, kubeconfig },
        {},
      ),
      secretRefreshMs: 500,
      onRoutes: (routes) => reporter.report(routes),
    });
    const adminKc = kube.adminConfig();
    const custom = adminKc.makeApiClient(CustomObjectsApi);
    const core = adminKc.makeApiClient(CoreV1Api);
    const type = (plural: string) => ({
      group: 'argoproj.io',
      version: 'v1alpha1',
      plural,
      namespace: ns,
    });
    const get = async (name: string) =>
      (await custom.getNamespacedCustomObject({ ...type('eventsources'), name })) as Obj;
    const post = (path: string, token?: string) =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: '{"n":1}',
      });
    try {
      await ingress.start();
      await custom.createNamespacedCustomObject({
        ...type('eventbus'),
        body: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'EventBus',
          metadata: { name: 'default', namespace: ns },
          spec: { kafka: { topic: `${prefix}-events` } },
        },
      });
      const route = (endpoint: string, key?: string) => ({
        port: String(port),
        endpoint,
        method: 'POST',
        ...(key ? { authSecret: { name: 'hook-auth', key } } : {}),
      });
      await custom.createNamespacedCustomObject({
        ...type('eventsources'),
        body: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'EventSource',
          metadata: { name: 'hooks', namespace: ns },
          spec: { webhook: { guarded: route('/guarded', 'token'), open: route('/open') } },
        },
      });

      // No Secret: the open route is served, the guarded one is not, and the EventSource says why.
      const missing = await waitFor(
        async () => {
          const c = cond(await get('hooks'), 'RoutesServed');
          return c?.status === 'False' && c;
        },
        { timeoutMs: 60_000, what: 'RoutesServed=False' },
      );
      assert.equal(missing.reason, 'SecretMissing');
      assert.equal(
        missing.message,
        `webhook event guarded: secret ${ns}/hook-auth key "token" not found (no such Secret)`,
      );
      assert.equal(cond(await get('hooks'), 'Deployed')?.status, 'True');
      await waitFor(async () => (await post('/open')).status === 200, { what: 'the open route' });
      assert.equal((await post('/guarded')).status, 404);
      assert.equal((await post('/guarded', 'tok')).status, 404);

      // An empty value is no better.
      await core.createNamespacedSecret({
        namespace: ns,
        body: { metadata: { name: 'hook-auth' }, stringData: { token: '' } },
      });
      const empty = await waitFor(
        async () => {
          const c = cond(await get('hooks'), 'RoutesServed');
          return c?.reason === 'SecretEmpty' && c;
        },
        { timeoutMs: 60_000, what: 'RoutesServed=False SecretEmpty' },
      );
      assert.equal(empty.status, 'False');
      assert.equal(
        empty.message,
        'webhook event guarded: authSecret (Secret hook-auth, key token) is empty; the route is not served',
      );
      assert.equal((await post('/guarded')).status, 404);

      // The Secret fixed: served (without a restart), and the condition turns True.
      await core.replaceNamespacedSecret({
        namespace: ns,
        name: 'hook-auth',
        body: { metadata: { name: 'hook-auth' }, stringData: { token: 'tok' } },
      });
      const served = await waitFor(
        async () => {
          const c = cond(await get('hooks'), 'RoutesServed');
          return c?.status === 'True' && c;
        },
        { timeoutMs: 60_000, what: 'RoutesServed=True' },
      );
      assert.equal(served.reason, 'Served');
      assert.equal((await post('/guarded', 'tok')).status, 200);
      assert.equal((await post('/guarded')).status, 401);

      // A route conflict is still RouteConflict; the unpublished EventSource claims nothing about routes.
      await custom.createNamespacedCustomObject({
        ...type('eventsources'),
        body: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'EventSource',
          metadata: { name: 'intruder', namespace: ns },
          spec: { webhook: { steal: route('/open') } },
        },
      });
      const intruder = await waitFor(
        async () => {
          const o = await get('intruder');
          return cond(o, 'Deployed')?.reason === 'RouteConflict' && o;
        },
        { timeoutMs: 60_000, what: 'RouteConflict' },
      );
      assert.equal(cond(intruder, 'Deployed')?.status, 'False');
      assert.equal(cond(intruder, 'RoutesServed'), undefined);
      assert.equal(cond(await get('hooks'), 'RoutesServed')?.status, 'True');
    } finally {
      await ingress.close();
      await reporter.close();
      await producers.close();
      await reconciler.stop();
      await store.stop();
      await clients.close();
    }
  },
);
