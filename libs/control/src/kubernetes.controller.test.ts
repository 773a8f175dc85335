import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  loadAllYaml,
  setHeaderOptions,
  type V1ClusterRole,
} from '@kubernetes/client-node';
import { type AnyResource, type EventBus } from '@ganglion/api';
import {
  BusClients,
  ensureTopics,
  parseBrokers,
  resourcesTopicConfig,
  ResourceStore,
  type Kafka,
} from '@ganglion/eventbus';
import { jsonEqual } from '@ganglion/k8s';
import { createLogger } from '@ganglion/telemetry';
import {
  REPO_ROOT,
  kafkaBrokers,
  kubeApiServer,
  uniquePrefix,
  waitFor,
  type KubeApiServer,
} from '@ganglion/testing';
import { FINALIZER, KubernetesController, RESOURCE_TYPES } from './kubernetes.controller.js';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
import { KafkaResourcePublisher } from './resource.publisher.js';

/**
 * The Kubernetes-mode reconciler against a real kube-apiserver (with the CRDs) and a real Kafka
 * broker: status conditions, topics, the resources topic, Services, finalizers, and no writes
 * for an unchanged object (counted in the API server's audit log).
 */
const logger = createLogger('reconciler-test', { level: 'warn' });
const INGRESS = { 'app.kubernetes.io/name': 'ganglion-ingress-webhook' };

let kube: KubeApiServer;
let clients: BusClients;
let kafka: Kafka;
/** Stopping a store's consumer takes seconds (kafkajs waits out its fetch): done in the background, awaited at the end. */
const stopping: Promise<void>[] = [];
after(() => Promise.all(stopping));

interface Obj {
  metadata: {
    name: string;
    generation?: number;
    finalizers?: string[];
    deletionTimestamp?: string;
  };
  status?: {
    observedGeneration?: number;
    conditions?: {
      type: string;
      status: string;
      reason?: string;
      message?: string;
      lastTransitionTime?: string;
    }[];
    config?: unknown;
  };
}

/** One test's world: a namespace, a resources topic, a controller running as its own user. */
async function world(label: string) {
  const prefix = uniquePrefix(label);
  const ns = await kube.namespace(label);
  const user = `reconciler-${prefix}`;
  const kc = new KubeConfig();
  kc.loadFromFile(kube.userKubeconfig(user, ['system:masters']));
  const resourcesTopic = `${prefix}-resources`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [resourcesTopicConfig(resourcesTopic, 1)]);
  await admin.disconnect();
  const store = new ResourceStore(kafka, resourcesTopic, logger);
  await store.start();
  await store.ready;
  const publisher = new KafkaResourcePublisher(
    clients,
    store,
    { resourcesTopic, partitions: 1, replicationFactor: 1 },
    logger,
  );
  const controller = new KubernetesController(kc, publisher, {
    namespace: ns,
    ingressSelector: INGRESS,
    resyncMs: 0,
    resourcesTopic,
    logger,
  });
  await controller.start();
  const adminKc = kube.adminConfig();
  const custom = adminKc.makeApiClient(CustomObjectsApi);
  const core = adminKc.makeApiClient(CoreV1Api);
  const type = (kind: keyof typeof RESOURCE_TYPES) => ({ ...RESOURCE_TYPES[kind], namespace: ns });
  return {
    ns,
    prefix,
    user,
    store,
    controller,
    core,
    create: (r: AnyResource) => custom.createNamespacedCustomObject({ ...type(r.kind), body: r }),
    replace: async (
      kind: keyof typeof RESOURCE_TYPES,
      name: string,
      mutate: (o: Record<string, unknown>) => void,
    ) => {
      const o = (await custom.getNamespacedCustomObject({ ...type(kind), name })) as Record<
        string,
        unknown
      >;
      mutate(o);
      return custom.replaceNamespacedCustomObject({ ...type(kind), name, body: o });
    },
    get: async (kind: keyof typeof RESOURCE_TYPES, name: string): Promise<Obj | undefined> => {
      try {
        return (await custom.getNamespacedCustomObject({ ...type(kind), name })) as Obj;
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return undefined;
        throw e;
      }
    },
    remove: (kind: keyof typeof RESOURCE_TYPES, name: string) =>
      custom.deleteNamespacedCustomObject({ ...type(kind), name }),
    close: async () => {
      await controller.stop();
      await publisher.close();
      stopping.push(store.stop());
    },
  };
}

const cond = (o: Obj | undefined, type: string) =>
  o?.status?.conditions?.find((c) => c.type === type);
const ready = (o: Obj | undefined, types: string[]) =>
  o?.status?.observedGeneration === o?.metadata.generation &&
  types.every((t) => cond(o, t)?.status === 'True');

function bus(ns: string, topic: string): EventBus {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'EventBus',
    metadata: { name: 'default', namespace: ns },
    spec: { kafka: { topic } },
  };
}
function webhookSource(ns: string): AnyResource {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'EventSource',
    metadata: { name: 'hooks', namespace: ns },
    spec: {
      service: { ports: [] },
      webhook: { example: { port: '12000', endpoint: '/example', method: 'POST' } },
    },
  } as AnyResource;
}
function sensor(ns: string, url = 'http://127.0.0.1:1/notify'): AnyResource {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Sensor',
    metadata: { name: 'notify', namespace: ns },
    spec: {
      dependencies: [{ name: 'dep', eventSourceName: 'hooks', eventName: 'example' }],
      triggers: [{ template: { name: 'call', http: { url, method: 'POST' } } }],
    },
  } as AnyResource;
}

before(async () => {
  kube = await kubeApiServer();
  clients = new BusClients({
    brokers: parseBrokers(await kafkaBrokers()),
    clientId: 'reconciler-k8s-test',
    logger,
  });
  kafka = clients.installation;
});

test('create and update drive topics, the resources topic, the webhook Service and status conditions', async () => {
  const w = await world('rec-create');
  try {
    const topic = `${w.prefix}-events`;
    await w.create(bus(w.ns, topic));
    await w.create(webhookSource(w.ns));
    await w.create(sensor(w.ns));

    const eb = await waitFor(
      async () => {
        const o = await w.get('EventBus', 'default');
        return ready(o, ['Configured', 'Deployed']) && o;
      },
      { timeoutMs: 30_000, what: 'EventBus Configured and Deployed' },
    );
    assert.ok(eb.metadata.finalizers?.includes(FINALIZER));
    assert.equal(cond(eb, 'Deployed')!.reason, 'TopicsReady');
    assert.ok(cond(eb, 'Configured')!.lastTransitionTime);
    assert.deepEqual(eb.status!.config, { kafka: { topic } });
    const admin = kafka.admin();
    await admin.connect();
    const topics = await admin.listTopics();
    await admin.disconnect();
    for (const t of [
      topic,
      `${topic}-joins`,
      `${topic}-join-state`,
      `${topic}-actions`,
      `${topic}-outcomes`,
      `${topic}-dlq`,
    ])
      assert.ok(topics.includes(t), `topic ${t} exists`);

    const es = await waitFor(
      async () => {
        const o = await w.get('EventSource', 'hooks');
        return ready(o, ['SourcesProvided', 'Deployed']) && o;
      },
      { timeoutMs: 30_000, what: 'EventSource deployed' },
    );
    assert.match(cond(es, 'Deployed')!.message!, /Service .*hooks-eventsource-svc/);
    const sn = await waitFor(
      async () => {
        const o = await w.get('Sensor', 'notify');
        return ready(o, ['DependenciesProvided', 'TriggersProvided', 'Deployed']) && o;
      },
      { timeoutMs: 30_000, what: 'Sensor deployed' },
    );
    assert.equal(sn.status!.observedGeneration, 1);

    // The resources topic carries the normalized resources.
    const published = await waitFor(() => w.store.get('Sensor', w.ns, 'notify'), {
      timeoutMs: 15_000,
      what: 'Sensor on the resources topic',
    });
    assert.deepEqual(published.spec, sensor(w.ns).spec);
    assert.equal(published.metadata.generation, 1);
    assert.ok(w.store.get('EventSource', w.ns, 'hooks'));
    assert.ok(w.store.get('EventBus', w.ns, 'default'));

    // The webhook EventSource's Service routes its port to the ingress pods.
    const svc = await w.core.readNamespacedService({
      namespace: w.ns,
      name: 'hooks-eventsource-svc',
    });
    assert.deepEqual(svc.spec!.selector, INGRESS);
    assert.deepEqual(
      svc.spec!.ports!.map((p) => [p.port, String(p.targetPort), p.protocol]),
      [[12000, '12000', 'TCP']],
    );
    assert.equal(svc.metadata!.ownerReferences![0]!.kind, 'EventSource');

    // A changed webhook port changes the Service; a hand edit of the selector is undone.
    await w.replace('EventSource', 'hooks', (o) => {
      (o['spec'] as { webhook: { example: { port: string } } }).webhook.example.port = '12345';
    });
    await waitFor(
      async () =>
        (await w.core.readNamespacedService({ namespace: w.ns, name: 'hooks-eventsource-svc' }))
          .spec!.ports!.map((p) => p.port)
          .join() === '12345',
      {
        timeoutMs: 15_000,
        what: 'the Service to follow the port',
      },
    );
    await w.core.patchNamespacedService(
      {
        namespace: w.ns,
        name: 'hooks-eventsource-svc',
        body: { spec: { selector: { app: 'wrong' } } },
      },
      MERGE_PATCH,
    );
    w.controller.resync();
    await waitFor(
      async () =>
        jsonEqual(
          (await w.core.readNamespacedService({ namespace: w.ns, name: 'hooks-eventsource-svc' }))
            .spec!.selector,
          INGRESS,
        ),
      {
        timeoutMs: 15_000,
        what: 'the selector to be restored',
      },
    );
    await w.controller.idle();
    const settled = kube.writes(w.user).length;
    w.controller.resync();
    await w.controller.idle();
    assert.equal(kube.writes(w.user).length, settled, 'the repaired Service is not patched again');

    // An update is republished and observed.
    await w.replace('Sensor', 'notify', (o) => {
      (
        o['spec'] as { triggers: { template: { http: { url: string } } }[] }
      ).triggers[0]!.template.http.url = 'http://127.0.0.1:2/changed';
    });
    await waitFor(async () => (await w.get('Sensor', 'notify'))?.status?.observedGeneration === 2, {
      timeoutMs: 15_000,
      what: 'observedGeneration 2',
    });
    await waitFor(() => w.store.get('Sensor', w.ns, 'notify')?.metadata.generation === 2, {
      timeoutMs: 15_000,
      what: 'generation 2 published',
    });
  } finally {
    await w.close();
  }
});

test('an EventSource of a type not verified against a server (mns) gets Deployed=True NotVerified', async () => {
  const w = await world('rec-notverified');
  try {
    await w.create(bus(w.ns, `${w.prefix}-events`));
    await w.create({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'EventSource',
      metadata: { name: 'aliyun', namespace: w.ns },
      spec: {
        mns: {
          example: {
            queue: 'jobs',
            endpoint: 'http://1234.mns.example:80',
            accessKey: { name: 'mns', key: 'id' },
            secretKey: { name: 'mns', key: 'secret' },
          },
        },
      },
    } as AnyResource);
    const es = await waitFor(
      async () => {
        const o = await w.get('EventSource', 'aliyun');
        return (
          o?.status?.observedGeneration === 1 &&
          !['EventBusNotFound', 'EventBusNotReady', undefined].includes(
            cond(o, 'Deployed')?.reason,
          ) &&
          o
        );
      },
      { timeoutMs: 30_000, what: 'EventSource Deployed condition once the bus is deployed' },
    );
    const d = cond(es, 'Deployed')!;
    assert.equal(d.status, 'True');
    assert.equal(d.reason, 'NotVerified');
    assert.match(d.message!, /^source type mns is not verified against a server: .*@alicloud\/mns/);
  } finally {
    await w.close();
  }
});

test('an invalid Sensor gets False conditions naming the field, and is not published', async () => {
  const w = await world('rec-invalid');
  try {
    await w.create(bus(w.ns, `${w.prefix}-events`));
    await w.create(sensor(w.ns, 'not-a-url'));
    const sn = await waitFor(
      async () => {
        const o = await w.get('Sensor', 'notify');
        return cond(o, 'TriggersProvided')?.status === 'False' && o;
      },
      { timeoutMs: 30_000, what: 'TriggersProvided False' },
    );
    const t = cond(sn, 'TriggersProvided')!;
    assert.equal(t.reason, 'InvalidTriggers');
    assert.match(
      t.message!,
      /^spec\.triggers\[0\]\.template\.http\.url: "not-a-url" is not an http\(s\) URL/,
    );
    assert.equal(cond(sn, 'DependenciesProvided')!.status, 'True');
    assert.equal(cond(sn, 'Deployed')!.status, 'False');
    assert.equal(cond(sn, 'Deployed')!.reason, 'InvalidSpec');
    assert.equal(sn.status!.observedGeneration, 1);
    await w.controller.idle();
    assert.equal(w.store.get('Sensor', w.ns, 'notify'), undefined);
  } finally {
    await w.close();
  }
});

test('a Sensor waits for its EventBus; an invalid update keeps the last valid generation deployed', async () => {
  const w = await world('rec-waits');
  try {
    await w.create(sensor(w.ns));
    const waiting = await waitFor(
      async () => {
        const o = await w.get('Sensor', 'notify');
        return cond(o, 'Deployed')?.reason === 'EventBusNotFound' && o;
      },
      { timeoutMs: 15_000, what: 'Deployed False EventBusNotFound' },
    );
    assert.equal(cond(waiting, 'Deployed')!.status, 'False');
    assert.match(cond(waiting, 'Deployed')!.message!, /EventBus "default" does not exist/);
    assert.equal(w.store.get('Sensor', w.ns, 'notify'), undefined);

    await w.create(bus(w.ns, `${w.prefix}-events`));
    await waitFor(async () => ready(await w.get('Sensor', 'notify'), ['Deployed']), {
      timeoutMs: 30_000,
      what: 'the Sensor deployed once the bus is',
    });
    await waitFor(() => w.store.get('Sensor', w.ns, 'notify'), {
      timeoutMs: 15_000,
      what: 'published',
    });

    await w.replace('Sensor', 'notify', (o) => {
      (
        o['spec'] as { triggers: { template: { http: { url: string } } }[] }
      ).triggers[0]!.template.http.url = 'broken';
    });
    const invalid = await waitFor(
      async () => {
        const o = await w.get('Sensor', 'notify');
        return o?.status?.observedGeneration === 2 && o;
      },
      { timeoutMs: 15_000, what: 'generation 2 observed' },
    );
    assert.equal(cond(invalid, 'TriggersProvided')!.status, 'False');
    assert.equal(
      cond(invalid, 'Deployed')!.message,
      'the spec is invalid; the last valid generation stays deployed',
    );
    await w.controller.idle();
    assert.equal(w.store.get('Sensor', w.ns, 'notify')!.metadata.generation, 1);
  } finally {
    await w.close();
  }
});

test('deletion waits for the finalizer; an EventBus in use is kept until its users are gone', async () => {
  const w = await world('rec-delete');
  try {
    await w.create(bus(w.ns, `${w.prefix}-events`));
    await w.create(webhookSource(w.ns));
    await w.create(sensor(w.ns));
    await waitFor(
      async () =>
        ready(await w.get('Sensor', 'notify'), ['Deployed']) &&
        ready(await w.get('EventSource', 'hooks'), ['Deployed']),
      { timeoutMs: 30_000, what: 'deployed' },
    );
    await waitFor(() => w.store.get('EventSource', w.ns, 'hooks'), {
      timeoutMs: 15_000,
      what: 'published',
    });

    await w.remove('EventBus', 'default');
    const eb = await waitFor(
      async () => {
        const o = await w.get('EventBus', 'default');
        return cond(o, 'Deployed')?.reason === 'InUse' && o;
      },
      { timeoutMs: 15_000, what: 'EventBus InUse' },
    );
    assert.ok(eb.metadata.deletionTimestamp, 'the EventBus is being deleted');
    assert.match(cond(eb, 'Deployed')!.message!, /EventSource\/hooks, Sensor\/notify/);

    await w.remove('EventSource', 'hooks');
    await waitFor(async () => (await w.get('EventSource', 'hooks')) === undefined, {
      timeoutMs: 15_000,
      what: 'EventSource gone',
    });
    await waitFor(() => w.store.get('EventSource', w.ns, 'hooks') === undefined, {
      timeoutMs: 15_000,
      what: 'EventSource tombstoned',
    });
    await assert.rejects(
      w.core.readNamespacedService({ namespace: w.ns, name: 'hooks-eventsource-svc' }),
      (e: unknown) => e instanceof ApiException && e.code === 404,
    );
    assert.ok(await w.get('EventBus', 'default'), 'still used by the Sensor');

    await w.remove('Sensor', 'notify');
    await waitFor(async () => (await w.get('EventBus', 'default')) === undefined, {
      timeoutMs: 15_000,
      what: 'EventBus gone',
    });
    await waitFor(
      () => !w.store.get('Sensor', w.ns, 'notify') && !w.store.get('EventBus', w.ns, 'default'),
      { timeoutMs: 15_000, what: 'tombstones' },
    );
  } finally {
    await w.close();
  }
});

test('a deletion waits while no reconciler runs (the finalizer holds the object)', async () => {
  const w = await world('rec-finalizer');
  await w.create(bus(w.ns, `${w.prefix}-events`));
  await waitFor(async () => ready(await w.get('EventBus', 'default'), ['Deployed']), {
    timeoutMs: 30_000,
    what: 'deployed',
  });
  await w.close();
  await w.remove('EventBus', 'default');
  const held = await w.get('EventBus', 'default');
  assert.ok(held?.metadata.deletionTimestamp, 'marked for deletion, held by the finalizer');
  assert.deepEqual(held.metadata.finalizers, [FINALIZER]);
});

test('reconciling unchanged objects writes nothing (audit log)', async () => {
  const w = await world('rec-nowrite');
  try {
    await w.create(bus(w.ns, `${w.prefix}-events`));
    await w.create(webhookSource(w.ns));
    await w.create(sensor(w.ns));
    await waitFor(
      async () =>
        ready(await w.get('Sensor', 'notify'), ['Deployed']) &&
        ready(await w.get('EventSource', 'hooks'), ['Deployed']),
      { timeoutMs: 30_000, what: 'deployed' },
    );
    await w.controller.idle();
    const writesBefore = kube.writes(w.user).length;
    const reconcilesBefore = w.controller.stats.reconciles;
    assert.ok(writesBefore > 0, 'the controller did write while deploying');
    for (let i = 0; i < 3; i++) {
      w.controller.resync();
      await w.controller.idle();
    }
    assert.ok(w.controller.stats.reconciles >= reconcilesBefore + 9, 'three full resyncs ran');
    assert.deepEqual(
      kube
        .writes(w.user)
        .slice(writesBefore)
        .map((e) => `${e.verb} ${e.requestURI}`),
      [],
    );
  } finally {
    await w.close();
  }
});

test('cluster-wide mode: one controller under the cluster ClusterRole manages labelled objects in every namespace, and only those', async () => {
  const prefix = uniquePrefix('rec-cluster');
  const [ns1, ns2] = [await kube.namespace('rec-cluster-a'), await kube.namespace('rec-cluster-b')];
  const user = `reconciler-${prefix}`;
  const admin = kube.adminConfig();
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const role = (
    loadAllYaml(
      readFileSync(join(REPO_ROOT, 'deploy/rbac/cluster/reconciler.yaml'), 'utf8'),
    ) as V1ClusterRole[]
  ).find((d) => d.kind === 'ClusterRole')!;
  await rbac.createClusterRole({ body: { ...role, metadata: { name: prefix } } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: prefix },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: prefix },
      subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }],
    },
  });
  const kc = new KubeConfig();
  kc.loadFromFile(kube.userKubeconfig(user));
  const resourcesTopic = `${prefix}-resources`;
  const kadmin = kafka.admin();
  await kadmin.connect();
  await ensureTopics(kadmin, [resourcesTopicConfig(resourcesTopic, 1)]);
  await kadmin.disconnect();
  const store = new ResourceStore(kafka, resourcesTopic, logger);
  await store.start();
  const publisher = new KafkaResourcePublisher(
    clients,
    store,
    { resourcesTopic, partitions: 1, replicationFactor: 1 },
    logger,
  );
  const label = { 'ganglion-test': prefix };
  const controller = new KubernetesController(kc, publisher, {
    ingressSelector: INGRESS,
    labelSelector: `ganglion-test=${prefix}`,
    resyncMs: 0,
    resourcesTopic,
    logger,
  });
  await controller.start();
  const custom = admin.makeApiClient(CustomObjectsApi);
  const get = (ns: string, name: string) =>
    custom.getNamespacedCustomObject({
      ...RESOURCE_TYPES.EventBus,
      namespace: ns,
      name,
    }) as Promise<Obj>;
  try {
    for (const [ns, name, labels] of [
      [ns1, 'default', label],
      [ns2, 'default', label],
      [ns2, 'other', undefined],
    ] as const)
      await custom.createNamespacedCustomObject({
        ...RESOURCE_TYPES.EventBus,
        namespace: ns,
        body: {
          ...bus(ns, `${prefix}-${ns}-${name}`),
          metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
        },
      });
    for (const ns of [ns1, ns2])
      await waitFor(async () => ready(await get(ns, 'default'), ['Configured', 'Deployed']), {
        timeoutMs: 30_000,
        what: `EventBus in ${ns} deployed`,
      });
    await controller.idle();
    const other = await get(ns2, 'other');
    assert.equal(other.status, undefined, 'an unlabelled object is not touched');
    assert.equal(other.metadata.finalizers, undefined);
    await waitFor(
      () => store.get('EventBus', ns1, 'default') && store.get('EventBus', ns2, 'default'),
      { timeoutMs: 15_000, what: 'both published' },
    );
    assert.equal(store.get('EventBus', ns2, 'other'), undefined);
  } finally {
    await controller.stop();
    await publisher.close();
    stopping.push(store.stop());
  }
});

test('tenants do not meet: a second claim of a route or of a bus topic gets a Conflict condition naming the holder, and deploys once the holder is gone', async () => {
  const w = await world('rec-claims');
  try {
    const topic = `${w.prefix}-events`;
    await w.create(bus(w.ns, topic));
    await w.create(webhookSource(w.ns));
    await waitFor(async () => ready(await w.get('EventSource', 'hooks'), ['Deployed']), {
      timeoutMs: 30_000,
      what: 'the first EventSource deployed',
    });
    // Another EventSource on the same port and endpoint (another team's, in another namespace in
    // a cluster-wide install): not first-one-wins at the ingress, a condition here.
    await w.create({
      ...webhookSource(w.ns),
      metadata: { name: 'intruder', namespace: w.ns },
      spec: {
        webhook: {
          steal: { port: '12000', endpoint: '/example', method: 'POST' },
          own: { port: '12000', endpoint: '/own', method: 'POST' },
        },
      },
    } as AnyResource);
    const intruder = await waitFor(
      async () => {
        const o = await w.get('EventSource', 'intruder');
        return cond(o, 'Deployed')?.reason === 'RouteConflict' && o;
      },
      { timeoutMs: 30_000, what: 'RouteConflict' },
    );
    assert.equal(cond(intruder, 'Deployed')!.status, 'False');
    assert.equal(
      cond(intruder, 'Deployed')!.message,
      `webhook port 12000 endpoint /example (event steal) is already served for EventSource ${w.ns}/hooks (event example); not deployed`,
    );
    assert.equal(w.store.get('EventSource', w.ns, 'intruder'), undefined, 'not published');

    // A second EventBus whose topic is the first one's: its topics would be shared.
    await w.create({ ...bus(w.ns, topic), metadata: { name: 'twin', namespace: w.ns } });
    const twin = await waitFor(
      async () => {
        const o = await w.get('EventBus', 'twin');
        return cond(o, 'Deployed')?.reason === 'TopicConflict' && o;
      },
      { timeoutMs: 30_000, what: 'TopicConflict' },
    );
    assert.match(
      cond(twin, 'Deployed')!.message!,
      new RegExp(`^topic ${topic} is already used by EventBus ${w.ns}/default; not deployed$`),
    );
    // `<P>-actions` of one bus is the event topic of another: a collision too.
    await w.create({
      ...bus(w.ns, `${topic}-actions`),
      metadata: { name: 'overlap', namespace: w.ns },
    });
    await waitFor(
      async () => cond(await w.get('EventBus', 'overlap'), 'Deployed')?.reason === 'TopicConflict',
      { timeoutMs: 30_000, what: 'TopicConflict of an overlapping bus' },
    );

    // The holder goes: the route is free, the waiting EventSource is deployed.
    await w.remove('EventSource', 'hooks');
    await waitFor(async () => ready(await w.get('EventSource', 'intruder'), ['Deployed']), {
      timeoutMs: 30_000,
      what: 'the second EventSource deployed once the route is free',
    });
    await waitFor(() => w.store.get('EventSource', w.ns, 'intruder'), {
      timeoutMs: 15_000,
      what: 'published',
    });
  } finally {
    await w.close();
  }
});
