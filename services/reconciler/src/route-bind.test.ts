import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { KubernetesReconciler } from '@ganglion/control';
import {
  BusClients,
  decodeCloudEvent,
  ensureTopics,
  eventData,
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
 * A route whose port another process holds: the real reconciler (Kubernetes mode, real API
 * server) and a real push ingress over a real broker, on real sockets. While the port is held,
 * POSTs reach the other process (its 404) and the EventSource says so: `RoutesServed=False`,
 * reason `PortInUse`, naming the port and the error. Once the port is released, the ingress
 * binds it by itself (no change to the EventSource), the condition turns True, and a POST is
 * served and its event reaches the bus.
 */
const logger = createLogger('route-bind-test', { level: 'error' });

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

/** Another process's server on `port`: answers every request 404 `not found`. */
async function holdPort(port: number): Promise<Server> {
  const server = createServer((_req, res) =>
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found'),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}

test(
  'a port held by another process: RoutesServed=False PortInUse naming the port; released: bound by itself, True, served, on the bus',
  { timeout: 240_000 },
  async () => {
    const kube = await kubeApiServer();
    const prefix = uniquePrefix('routebind');
    const ns = await kube.namespace('route-bind');
    const kubeconfig = kube.userKubeconfig(`reconciler-${prefix}`, ['system:masters']);
    const clients = new BusClients({
      brokers: parseBrokers(await kafkaBrokers()),
      clientId: prefix,
      logger,
    });
    const kafka = clients.installation;
    const resourcesTopic = `${prefix}-resources`;
    const busTopic = `${prefix}-events`;
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [
      resourcesTopicConfig(resourcesTopic, 1),
      { topic: busTopic, numPartitions: 1, replicationFactor: 1 },
    ]);
    await admin.disconnect();
    const onBus: unknown[] = [];
    const consumer = kafka.consumer({ groupId: `${prefix}-collector`, sessionTimeout: 10_000 });
    await consumer.connect();
    await consumer.subscribe({ topics: [busTopic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        onBus.push(eventData(decodeCloudEvent(message)));
      },
    });
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
    const port = await freePort();
    const held = await holdPort(port);
    let released = false;
    const producers = clients.producers({});
    const reporter = new RouteStatusReporter(kafka, routeStatusTopic(resourcesTopic), logger);
    // The bind retried every 200 ms doubling to 1 s (the default: 1 s doubling to 30 s), so the
    // test waits seconds, not half a minute, after it releases the port.
    const ingress = new PushIngressRunner((await pushSources.webhook()) as never, {
      host: '127.0.0.1',
      logger,
      store,
      producers,
      secrets: createSecretResolver(
        { secretsSource: 'local', secretsDir: undefined, kubeconfig: undefined },
        {},
      ),
      secretRefreshMs: 0,
      bindRetry: { initialMs: 200, maxMs: 1000 },
      onRoutes: (routes) => reporter.report(routes),
    });
    const custom = kube.adminConfig().makeApiClient(CustomObjectsApi);
    const type = (plural: string) => ({
      group: 'argoproj.io',
      version: 'v1alpha1',
      plural,
      namespace: ns,
    });
    const get = async (name: string) =>
      (await custom.getNamespacedCustomObject({ ...type('eventsources'), name })) as Obj;
    const post = (n: number) =>
      fetch(`http://127.0.0.1:${port}/hook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ n }),
      });
    try {
      await ingress.start();
      await custom.createNamespacedCustomObject({
        ...type('eventbus'),
        body: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'EventBus',
          metadata: { name: 'default', namespace: ns },
          spec: { kafka: { topic: busTopic } },
        },
      });
      await custom.createNamespacedCustomObject({
        ...type('eventsources'),
        body: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'EventSource',
          metadata: { name: 'hooks', namespace: ns },
          spec: { webhook: { example: { port: String(port), endpoint: '/hook', method: 'POST' } } },
        },
      });

      // Held: the EventSource says the route is not served, naming the port and the error.
      const inUse = await waitFor(
        async () => {
          const c = cond(await get('hooks'), 'RoutesServed');
          return c?.status === 'False' && c;
        },
        { timeoutMs: 60_000, what: 'RoutesServed=False' },
      );
      assert.equal(inUse.reason, 'PortInUse');
      assert.equal(
        inUse.message,
        `webhook event example: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE), another process holds port ${port}; the ingress retries the bind with backoff`,
      );
      assert.equal(cond(await get('hooks'), 'Deployed')?.status, 'True');
      assert.match(
        ingress.notServing(port) ?? '',
        new RegExp(`port ${port} not bound \\(PortInUse\\)`),
      );
      assert.deepEqual(
        ingress.bindFailures().map((f) => [f.port, f.reason, f.code]),
        [[port, 'PortInUse', 'EADDRINUSE']],
      );
      // The ingress keeps trying while the port is held; the status stays as it was.
      await waitFor(() => (ingress.bindFailures()[0]?.attempts ?? 0) >= 3, {
        timeoutMs: 30_000,
        what: 'three bind attempts',
      });
      const other = await post(0);
      assert.equal(other.status, 404);
      assert.equal(await other.text(), 'not found');
      assert.equal(cond(await get('hooks'), 'RoutesServed')?.reason, 'PortInUse');

      // Released: bound without any change to the EventSource, True, served, on the bus.
      const generation = (await get('hooks')).metadata.generation;
      await new Promise<void>((resolve) => held.close(() => resolve()));
      released = true;
      const served = await waitFor(
        async () => {
          const c = cond(await get('hooks'), 'RoutesServed');
          return c?.status === 'True' && c;
        },
        { timeoutMs: 60_000, what: 'RoutesServed=True after the port was released' },
      );
      assert.equal(served.reason, 'Served');
      assert.equal(ingress.notServing(port), undefined);
      assert.deepEqual(ingress.bindFailures(), []);
      const res = await post(1);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'success');
      await waitFor(() => onBus.some((d) => (d as { body?: { n?: number } }).body?.n === 1), {
        timeoutMs: 30_000,
        what: 'the event on the bus',
      });
      assert.equal((await get('hooks')).metadata.generation, generation);
    } finally {
      if (!released) held.close();
      await ingress.close();
      await reporter.close();
      await producers.close();
      await reconciler.stop();
      await store.stop();
      await consumer.disconnect();
      await clients.close();
    }
  },
);
