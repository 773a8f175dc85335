import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BusClients,
  ensureTopics,
  parseBrokers,
  resourcesTopicConfig,
  ResourceStore,
  type Kafka,
} from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { DirectoryReconciler } from './directory.reconciler.js';

/**
 * Directory mode against a real Kafka broker: the manifests of a directory are published to the
 * resources topic, an EventBus gets its topics, a file change is picked up, a resource that left
 * the directory is tombstoned (unless a file is invalid), and an unchanged directory publishes nothing.
 */
const logger = createLogger('reconciler-test', { level: 'error' });
let clients: BusClients;
let kafka: Kafka;

before(async () => {
  clients = new BusClients({
    brokers: parseBrokers(await kafkaBrokers()),
    clientId: 'reconciler-dir-test',
    logger,
  });
  kafka = clients.installation;
});

const eventBus = (topic: string) => `apiVersion: argoproj.io/v1alpha1
kind: EventBus
metadata: { name: default, namespace: demo }
spec: { kafka: { topic: ${topic} } }
`;
const source = (name: string) => `apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata: { name: ${name}, namespace: demo }
spec:
  webhook:
    example: { port: "12000", endpoint: /${name}, method: POST }
`;
const sensor = (url: string | undefined) => `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: { name: notify, namespace: demo }
spec:
  dependencies: [{ name: dep, eventSourceName: hooks, eventName: example }]
  triggers: [{ template: { name: call, http: { ${url ? `url: "${url}", ` : ''}method: POST } } }]
`;

test('publishes the directory, creates the bus topics, follows file changes and tombstones what left it', async () => {
  const prefix = uniquePrefix('dir-rec');
  const dir = await mkdtemp(join(tmpdir(), 'ganglion-dir-rec-'));
  const resourcesTopic = `${prefix}-resources`;
  const eventsTopic = `${prefix}-events`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [resourcesTopicConfig(resourcesTopic, 1)]);
  const store = new ResourceStore(kafka, resourcesTopic, logger);
  await store.start();
  await store.ready;
  const written = async (): Promise<bigint> =>
    (await admin.fetchTopicOffsets(resourcesTopic)).reduce((n, p) => n + BigInt(p.high), 0n);
  await writeFile(join(dir, 'bus.yaml'), eventBus(eventsTopic));
  await writeFile(
    join(dir, 'flow.yaml'),
    `${source('hooks')}---\n${sensor('http://127.0.0.1:1/notify')}`,
  );
  const reconciler = new DirectoryReconciler(clients, store, {
    dir,
    resourcesTopic,
    partitions: 1,
    replicationFactor: 1,
    logger,
  });
  try {
    await reconciler.start();
    assert.ok(reconciler.synced);
    await waitFor(
      () =>
        store.get('EventBus', 'demo', 'default') &&
        store.get('EventSource', 'demo', 'hooks') &&
        store.get('Sensor', 'demo', 'notify'),
      { timeoutMs: 20_000, what: 'the three resources in the store' },
    );
    const topics = await admin.listTopics();
    for (const t of [
      eventsTopic,
      `${eventsTopic}-joins`,
      `${eventsTopic}-join-state`,
      `${eventsTopic}-actions`,
      `${eventsTopic}-outcomes`,
      `${eventsTopic}-dlq`,
    ])
      assert.ok(topics.includes(t), `topic ${t} exists`);

    // An unchanged directory publishes nothing.
    const unchanged = await written();
    await reconciler.sync();
    assert.equal(await written(), unchanged);

    // A file with an invalid document: the resources missing from it are kept (not deleted on a typo), the other files still apply.
    await writeFile(join(dir, 'flow.yaml'), sensor(undefined));
    await writeFile(join(dir, 'more.yaml'), source('more'));
    await waitFor(() => store.get('EventSource', 'demo', 'more'), {
      timeoutMs: 20_000,
      what: 'the new file published',
    });
    await reconciler.sync();
    assert.equal(
      await written(),
      unchanged + 1n,
      'only the new file was published: no tombstone while a file is invalid',
    );
    assert.ok(store.get('EventSource', 'demo', 'hooks'), 'kept while a file is invalid');
    assert.equal(
      (
        store.get('Sensor', 'demo', 'notify')!.spec as {
          triggers: { template: { http: { url?: string } } }[];
        }
      ).triggers[0]!.template.http.url,
      'http://127.0.0.1:1/notify',
      'the last valid version stays',
    );

    // Fixed: the Sensor's new version is published, the EventSource that left the directory is tombstoned.
    await writeFile(join(dir, 'flow.yaml'), sensor('http://127.0.0.1:2/notify'));
    await waitFor(() => !store.get('EventSource', 'demo', 'hooks'), {
      timeoutMs: 20_000,
      what: 'the removed EventSource tombstoned',
    });
    await waitFor(
      () =>
        (
          store.get('Sensor', 'demo', 'notify')!.spec as {
            triggers: { template: { http: { url: string } } }[];
          }
        ).triggers[0]!.template.http.url === 'http://127.0.0.1:2/notify',
      { timeoutMs: 20_000, what: 'the changed Sensor published' },
    );
  } finally {
    await reconciler.stop();
    await admin.disconnect();
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
