/**
 * Test support for the route status tests (route-status, route-bind): the real reconciler in
 * Kubernetes mode on a real kube-apiserver, and a real push ingress of the webhook type that
 * reports its routes on the route status topic (`RouteStatusReporter`), over a real broker.
 * Used by the *.test.ts files only.
 */
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
import { createLogger, type Logger } from '@ganglion/telemetry';
import { freePort, kafkaBrokers, kubeApiServer, uniquePrefix, waitFor } from '@ganglion/testing';
import type { KubeApiServer } from '@ganglion/testing';

/** A status condition of a resource. */
interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** A resource as the API server returns it, as far as these tests read it. */
interface Obj {
  metadata: { generation?: number };
  status?: { observedGeneration?: number; conditions?: Cond[] };
}

/** The condition `type` of `o`, if it has one. */
export const cond = (o: Obj | undefined, type: string): Cond | undefined =>
  o?.status?.conditions?.find((c) => c.type === type);

interface RouteHarnessOptions {
  /** Names the namespace, the topics and the Kafka client id. */
  name: string;
  /** Default: one named after `name` that logs errors only. */
  logger?: Logger;
  /**
   * Where the ingress reads Secrets: the API server (as the reconciler's user), or nowhere
   * (the default).
   */
  secrets?: 'kubernetes' | 'none';
  /**
   * How often the ingress rebuilds its routes with their Secrets (ms; 0, the default: on
   * changes only).
   */
  secretRefreshMs?: number;
  /** How the ingress retries a port it cannot bind (default: the ingress's own). */
  bindRetry?: { initialMs: number; maxMs: number };
  /** The ingress's own ports (`PushIngressOptions.reservedPorts`). */
  reservedPorts?: ReadonlyMap<number, string>;
  /** Creates the event topic first and collects the data of every event on it into `onBus`. */
  collectBus?: boolean;
}

/** The reconciler and the ingress of one test, in their own namespace and topics. */
interface RouteHarness {
  kube: KubeApiServer;
  ns: string;
  /** The port of the webhook routes (free when the harness was made). */
  port: number;
  /** The data of the events on the EventBus's topic (with `collectBus`). */
  onBus: unknown[];
  /** The first ingress replica, `ingress-0` on 127.0.0.1. */
  ingress: PushIngressRunner<unknown>;
  /** Stops the first replica: its ingress, then its reporter (which withdraws its refusals). */
  stopIngress(): Promise<void>;
  /**
   * Starts another ingress replica on `host` reporting as `replica` (its own reporter); stopped
   * by `close()` of the harness, or earlier with its own `close()`.
   */
  replica(
    host: string,
    replica: string,
  ): Promise<{ ingress: PushIngressRunner<unknown>; close(): Promise<void> }>;
  /** Starts the ingress and creates the EventBus `default` (topic `<prefix>-events`). */
  start(): Promise<void>;
  /** Creates the EventSource `name` with the webhook events `webhook`. */
  createEventSource(name: string, webhook: Record<string, unknown>): Promise<void>;
  /** The EventSource `name`. */
  get(name: string): Promise<Obj>;
  /** Polls the EventSource `name` (60 s) until its condition `type` has the fields of `want`. */
  waitCond(name: string, type: string, want: Partial<Cond>): Promise<Cond>;
  /** Stops everything, last made first. */
  close(): Promise<void>;
}

/** Makes the reconciler (started) and the ingress (not started yet). */
export async function routeHarness(options: RouteHarnessOptions): Promise<RouteHarness> {
  const logger = options.logger ?? createLogger(options.name, { level: 'error' });
  const kube = await kubeApiServer();
  const prefix = uniquePrefix(options.name);
  const ns = await kube.namespace(options.name);
  const kubeconfig = kube.userKubeconfig(`reconciler-${prefix}`, ['system:masters']);
  const resourcesTopic = `${prefix}-resources`;
  const busTopic = `${prefix}-events`;
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.splice(0).reverse()) await closer();
  };
  const clients = new BusClients({
    brokers: parseBrokers(await kafkaBrokers()),
    clientId: prefix,
    logger,
  });
  closers.push(() => clients.close());
  try {
    const kafka = clients.installation;
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [
      resourcesTopicConfig(resourcesTopic, 1),
      ...(options.collectBus ? [{ topic: busTopic, numPartitions: 1, replicationFactor: 1 }] : []),
    ]);
    await admin.disconnect();
    const onBus: unknown[] = [];
    if (options.collectBus) {
      const consumer = kafka.consumer({ groupId: `${prefix}-collector`, sessionTimeout: 10_000 });
      closers.push(() => consumer.disconnect());
      await consumer.connect();
      await consumer.subscribe({ topics: [busTopic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          onBus.push(eventData(decodeCloudEvent(message)));
        },
      });
    }
    const store = new ResourceStore(kafka, resourcesTopic, logger);
    closers.push(() => store.stop());
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
    closers.push(() => reconciler.stop());
    reconciler.start();
    const port = await freePort();
    const producers = clients.producers({});
    closers.push(() => producers.close());
    const webhook = await pushSources.webhook();
    /** An ingress replica on `host` and its reporter (the ingress closes first). */
    const makeReplica = (host: string, replica: string) => {
      const reporter = new RouteStatusReporter(kafka, routeStatusTopic(resourcesTopic), logger, {
        replica,
      });
      const ingress = new PushIngressRunner<unknown>(webhook as never, {
        host,
        logger,
        store,
        producers,
        secrets: createSecretResolver(
          options.secrets === 'kubernetes'
            ? { secretsSource: 'kubernetes', secretsDir: undefined, kubeconfig }
            : { secretsSource: 'local', secretsDir: undefined, kubeconfig: undefined },
          {},
        ),
        secretRefreshMs: options.secretRefreshMs ?? 0,
        ...(options.bindRetry ? { bindRetry: options.bindRetry } : {}),
        ...(options.reservedPorts ? { reservedPorts: options.reservedPorts } : {}),
        onRoutes: (routes) => reporter.report(routes),
      });
      let closed: Promise<void> | undefined;
      const close = () => (closed ??= ingress.close().then(() => reporter.close()));
      closers.push(close);
      return { ingress, close };
    };
    const first = makeReplica('127.0.0.1', 'ingress-0');
    const ingress = first.ingress;
    const custom = kube.adminConfig().makeApiClient(CustomObjectsApi);
    const type = (plural: string) => ({
      group: 'argoproj.io',
      version: 'v1alpha1',
      plural,
      namespace: ns,
    });
    const get = async (name: string) =>
      (await custom.getNamespacedCustomObject({ ...type('eventsources'), name })) as Obj;
    return {
      kube,
      ns,
      port,
      onBus,
      ingress,
      stopIngress: first.close,
      async replica(host, replica) {
        const r = makeReplica(host, replica);
        await r.ingress.start();
        return r;
      },
      async start() {
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
      },
      async createEventSource(name, webhook) {
        await custom.createNamespacedCustomObject({
          ...type('eventsources'),
          body: {
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'EventSource',
            metadata: { name, namespace: ns },
            spec: { webhook },
          },
        });
      },
      get,
      waitCond: (name, condType, want) =>
        waitFor(
          async () => {
            const c = cond(await get(name), condType);
            const match = Object.entries(want).every(([k, v]) => c?.[k as keyof Cond] === v);
            return c !== undefined && match && c;
          },
          { timeoutMs: 60_000, what: `${name} ${condType} ${JSON.stringify(want)}` },
        ),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
