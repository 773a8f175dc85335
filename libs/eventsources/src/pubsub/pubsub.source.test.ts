import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PubSub } from '@google-cloud/pubsub';
import { BusClients } from '@ganglion/eventbus';
import {
  KafkaBroker,
  PubSubTestServer,
  freePort,
  kafkaBrokers,
  uniquePrefix,
  waitFor,
} from '@ganglion/testing';
import { naturalEventId } from '../kit/cloudevent.js';
import { BusFixture, MemoryStore, eventSource } from '../kit/push-harness.test-support.js';
import { busOn, startReplica, type QueueReplica } from '../kit/queue-harness.test-support.js';
import { pubSubSource } from './pubsub.source.js';

const PROJECT = 'ganglion-test';

/** The pubSub source against Google's in-memory Pub/Sub server (pstest) and a real Kafka broker. */
describe('pubSub source', { timeout: 600_000 }, () => {
  const prefix = uniquePrefix('pubsub');
  let server: PubSubTestServer;
  let client: PubSub;
  let bus: BusFixture;
  const running: QueueReplica[] = [];

  async function replica(
    store: MemoryStore,
    id: string,
    clients = bus.clients,
  ): Promise<QueueReplica> {
    const r = await startReplica(pubSubSource, store, clients, bus.logger, id, {}, 'pubSub');
    running.push(r);
    return r;
  }

  async function publish(topic: string, from: number, to: number): Promise<void> {
    const t = client.topic(topic, { batching: { maxMessages: 100, maxMilliseconds: 5 } });
    await Promise.all(
      Array.from({ length: to - from }, (_, i) => t.publishMessage({ json: { seq: from + i } })),
    );
  }

  const subscriptionExists = async (id: string): Promise<boolean> =>
    (await client.subscription(id).exists())[0];

  before(async () => {
    [server, bus] = await Promise.all([
      PubSubTestServer.start(),
      kafkaBrokers().then((b) => new BusFixture(b, `${prefix}-bus`).start()),
    ]);
    // The client library reads the emulator's address from here, as Argo's does; and it must
    // not look for a GCP metadata server (a link-local address, off this machine's loopback).
    process.env['PUBSUB_EMULATOR_HOST'] = server.host;
    process.env['METADATA_SERVER_DETECTION'] = 'none';
    client = new PubSub({ projectId: PROJECT });
  });

  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
    await client?.close();
    await bus?.stop();
    await server?.stop();
  });

  it("creates the missing topic and subscription, publishes Argo's data ({id, body, attributes, publishTime, metadata})", async () => {
    const store = new MemoryStore();
    store.put(bus.bus());
    store.put(
      eventSource('gcp', {
        pubSub: {
          raw: {
            projectID: PROJECT,
            topic: `${prefix}-orders`,
            subscriptionID: `${prefix}-raw`,
            metadata: { team: 'a' },
          },
          json: {
            projectID: PROJECT,
            topic: `${prefix}-orders`,
            jsonBody: true,
            filter: { expression: 'attributes.kind == "keep"' },
          },
        },
      }),
    );
    await replica(store, 'one');
    await waitFor(() => subscriptionExists(`${prefix}-raw`), {
      timeoutMs: 60_000,
      what: 'the subscription created',
    });
    // The second event's subscription has a generated id: wait until the topic has two.
    await waitFor(
      async () => (await client.topic(`${prefix}-orders`).getSubscriptions())[0].length === 2,
      { timeoutMs: 60_000, what: 'both subscriptions' },
    );
    const t = client.topic(`${prefix}-orders`);
    const keepId = await t.publishMessage({
      data: Buffer.from('{"n":1}'),
      attributes: { kind: 'keep' },
    });
    await t.publishMessage({ data: Buffer.from('{"n":2}'), attributes: { kind: 'drop' } });
    await waitFor(() => bus.from('gcp').length >= 3, { timeoutMs: 60_000, what: 'three events' });
    const of = (s: string) => bus.from('gcp').filter((r) => r.event.subject === s);
    assert.equal(of('raw').length, 2);
    const raw = of('raw').find((r) => (r.data as { id: string }).id === keepId)!;
    const d = raw.data as Record<string, unknown>;
    assert.equal(raw.event.type, 'pubsub');
    assert.equal(raw.event.id, naturalEventId('default', 'gcp', 'raw', keepId));
    assert.match(
      d['publishTime'] as string,
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,9})? \+0000 UTC$/,
    );
    assert.deepEqual(d, {
      id: keepId,
      body: Buffer.from('{"n":1}').toString('base64'),
      attributes: { kind: 'keep' },
      publishTime: d['publishTime'],
      metadata: { team: 'a' },
    });
    await waitFor(() => of('json').length === 1, { what: 'the filtered event' });
    assert.deepEqual((of('json')[0]!.data as { body: unknown }).body, { n: 1 });
  });

  it('reuses an existing subscription given without a topic', async () => {
    const [topic] = await client.createTopic(`${prefix}-existing`);
    await topic.createSubscription(`${prefix}-existing-sub`);
    const store = new MemoryStore();
    store.put(bus.bus());
    store.put(
      eventSource('reuse', {
        pubSub: {
          e: { projectID: PROJECT, subscriptionID: `${prefix}-existing-sub`, jsonBody: true },
        },
      }),
    );
    await replica(store, 'one');
    // The source connects asynchronously: publish until its first event arrives.
    let seq = 0;
    await waitFor(
      async () => {
        await publish(`${prefix}-existing`, seq, seq + 1);
        seq++;
        return bus.from('reuse').length > 0;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'an event from the existing subscription' },
    );
  });

  it('bus down: nothing is acknowledged while the bus is unavailable; everything is published once it is back', async () => {
    const topic = `${prefix}-outage`;
    await client.createTopic(topic);
    const port = await freePort();
    const store = new MemoryStore();
    store.put(busOn('down', `127.0.0.1:${port}`, `${prefix}-down-bus`));
    store.put(
      eventSource('outage', {
        eventBusName: 'down',
        pubSub: {
          e: { projectID: PROJECT, topic, subscriptionID: `${prefix}-outage-sub`, jsonBody: true },
        },
      }),
    );
    const clients = new BusClients({
      brokers: (await kafkaBrokers()).split(','),
      clientId: `${prefix}-down`,
      logger: bus.logger,
    });
    const r = await replica(store, 'one', clients);
    await waitFor(() => subscriptionExists(`${prefix}-outage-sub`), {
      timeoutMs: 60_000,
      what: 'the subscription',
    });
    const n = 25;
    await publish(topic, 0, n);
    // A replica stopped while the bus is down acknowledged nothing: a new one gets every
    // message again once the bus is up.
    await r.stop();
    running.splice(running.indexOf(r), 1);
    const kafka = await KafkaBroker.start({ port, heap: '384m' });
    try {
      const down = await new BusFixture(kafka.brokers, `${prefix}-down-bus`).start();
      try {
        await replica(store, 'two', clients);
        await waitFor(
          () =>
            new Set(down.received.map((x) => JSON.stringify((x.data as { body: unknown }).body)))
              .size === n,
          {
            timeoutMs: 120_000,
            what: 'every message on the bus once it is up',
          },
        );
      } finally {
        await down.stop();
      }
    } finally {
      await Promise.all(running.splice(0).map((x) => x.stop()));
      await clients.close();
      await kafka.destroy();
    }
  });

  it('two replicas on one subscription: every message once', async () => {
    const topic = `${prefix}-pair`;
    await client.createTopic(topic);
    const store = new MemoryStore();
    store.put(bus.bus());
    store.put(
      eventSource('pair', {
        pubSub: {
          e: { projectID: PROJECT, topic, subscriptionID: `${prefix}-pair-sub`, jsonBody: true },
        },
      }),
    );
    await replica(store, 'a');
    await replica(store, 'b');
    await waitFor(() => subscriptionExists(`${prefix}-pair-sub`), {
      timeoutMs: 60_000,
      what: 'the subscription',
    });
    const n = 300;
    await publish(topic, 0, n);
    await waitFor(() => bus.from('pair').length >= n, {
      timeoutMs: 120_000,
      what: 'every message',
    });
    const seqs = bus.from('pair').map((x) => (x.data as { body: { seq: number } }).body.seq);
    assert.equal(new Set(seqs).size, n);
    // Past the server's ack deadline (10 s): nothing was redelivered, every message was acknowledged.
    const at = Date.now();
    await waitFor(() => Date.now() - at > 15_000, {
      timeoutMs: 20_000,
      intervalMs: 500,
      what: 'the ack deadline',
    });
    assert.equal(bus.from('pair').length, n, 'no message twice');
  });
});
