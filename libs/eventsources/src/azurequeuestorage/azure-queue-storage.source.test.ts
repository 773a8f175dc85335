import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { BusClients } from '@ganglion/eventbus';
import { AzuriteQueue, freePort, kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { naturalEventId } from '../kit/cloudevent.js';
import { BusFixture, MemoryStore, eventSource } from '../kit/push-harness.test-support.js';
import {
  busOn,
  expectAllOnceTheBusIsBack,
  startReplica,
  type QueueReplica,
} from '../kit/queue-harness.test-support.js';
import { azureQueueStorageSource } from './azure-queue-storage.source.js';

/** The azureQueueStorage source against Azurite (the Azure Storage emulator) and a real Kafka broker. */
describe('azureQueueStorage source', { timeout: 600_000 }, () => {
  const prefix = uniquePrefix('aqs')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-');
  let azurite: AzuriteQueue;
  let service: QueueServiceClient;
  let bus: BusFixture;
  const running: QueueReplica[] = [];
  const secrets = (): Record<string, Record<string, string>> => ({
    azure: { conn: azurite.connectionString },
  });
  const config = (queueName: string, extra: Record<string, unknown> = {}) => ({
    queueName,
    connectionString: { name: 'azure', key: 'conn' },
    waitTimeInSeconds: 1,
    ...extra,
  });

  async function queue(name: string): Promise<QueueClient> {
    const q = service.getQueueClient(name);
    await q.create();
    return q;
  }

  /** Messages in the queue, visible or not (Azure's approximate count). */
  const stored = async (q: QueueClient): Promise<number> =>
    (await q.getProperties()).approximateMessagesCount ?? -1;

  async function replica(
    store: MemoryStore,
    id: string,
    clients = bus.clients,
  ): Promise<QueueReplica> {
    const r = await startReplica(
      azureQueueStorageSource,
      store,
      clients,
      bus.logger,
      id,
      secrets(),
    );
    running.push(r);
    return r;
  }

  before(async () => {
    [azurite, bus] = await Promise.all([
      AzuriteQueue.start(),
      kafkaBrokers().then((b) => new BusFixture(b, `${prefix}-bus`).start()),
    ]);
    service = QueueServiceClient.fromConnectionString(azurite.connectionString);
  });

  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
    await bus?.stop();
    await azurite?.stop();
  });

  it("publishes Argo's data ({messageID, body, insertionTime, metadata}), decodeMessage and jsonBody, and deletes after publishing", async () => {
    const plain = await queue(`${prefix}-plain`);
    const coded = await queue(`${prefix}-coded`);
    const store = new MemoryStore();
    store.put(bus.bus());
    store.put(
      eventSource('azq', {
        azureQueueStorage: {
          plain: config(`${prefix}-plain`, { metadata: { team: 'a' } }),
          coded: config(`${prefix}-coded`, { decodeMessage: true, jsonBody: true }),
        },
      }),
    );
    await replica(store, 'one');
    const sent = await plain.sendMessage('hello');
    await coded.sendMessage(Buffer.from('{"n":1}').toString('base64'));
    await waitFor(() => bus.from('azq').length >= 2, { timeoutMs: 60_000, what: 'two events' });
    const of = (s: string) => bus.from('azq').filter((r) => r.event.subject === s);
    const p = of('plain')[0]!;
    assert.equal(p.event.type, 'azureQueueStorage');
    assert.equal(p.event.id, naturalEventId('default', 'azq', 'plain', sent.messageId));
    const d = p.data as Record<string, unknown>;
    assert.match(d['insertionTime'] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.deepEqual(d, {
      messageID: sent.messageId,
      body: Buffer.from('hello').toString('base64'),
      insertionTime: d['insertionTime'],
      metadata: { team: 'a' },
    });
    assert.deepEqual((of('coded')[0]!.data as { body: unknown }).body, { n: 1 });
    await waitFor(async () => (await stored(plain)) === 0 && (await stored(coded)) === 0, {
      timeoutMs: 30_000,
      what: 'both queues empty',
    });
  });

  it('a message Argo cannot marshal is deleted unpublished, or left in the queue with dlq', async () => {
    const dropped = await queue(`${prefix}-dropped`);
    const kept = await queue(`${prefix}-kept`);
    const store = new MemoryStore();
    store.put(bus.bus());
    store.put(
      eventSource('bad', {
        azureQueueStorage: {
          dropped: config(`${prefix}-dropped`, { jsonBody: true }),
          kept: config(`${prefix}-kept`, { jsonBody: true, dlq: true }),
        },
      }),
    );
    await replica(store, 'one');
    for (const q of [dropped, kept]) {
      await q.sendMessage('not json');
      await q.sendMessage('{"ok":true}');
    }
    await waitFor(() => bus.from('bad').length === 2, { timeoutMs: 60_000, what: 'the JSON ones' });
    await waitFor(async () => (await stored(dropped)) === 0 && (await stored(kept)) === 1, {
      timeoutMs: 30_000,
      what: 'the bad message deleted without dlq, kept with it',
    });
  });

  it('bus down: nothing is deleted while the bus is unavailable; everything is published once it is back', async () => {
    const q = await queue(`${prefix}-outage`);
    const port = await freePort();
    const store = new MemoryStore();
    store.put(busOn('down', `127.0.0.1:${port}`, `${prefix}-down-bus`));
    store.put(
      eventSource('outage', {
        eventBusName: 'down',
        azureQueueStorage: { e: config(`${prefix}-outage`, { jsonBody: true }) },
      }),
    );
    const clients = new BusClients({
      brokers: (await kafkaBrokers()).split(','),
      clientId: `${prefix}-down`,
      logger: bus.logger,
    });
    const n = 25;
    for (let i = 0; i < n; i++) await q.sendMessage(JSON.stringify({ seq: i }));
    const r = await replica(store, 'one', clients);
    // All taken (none visible), then held past one lease (30 s): renewed, nothing deleted.
    await waitFor(
      async () => (await q.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.length === 0,
      {
        timeoutMs: 60_000,
        what: 'all messages taken',
      },
    );
    const taken = Date.now();
    await waitFor(
      async () =>
        Date.now() - taken > 35_000 &&
        (await q.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.length === 0,
      { timeoutMs: 60_000, intervalMs: 1000, what: 'the messages still held after a lease' },
    );
    assert.equal(await stored(q), n, 'nothing deleted while the bus is down');
    await expectAllOnceTheBusIsBack({
      port,
      topic: `${prefix}-down-bus`,
      n,
      idOf: (x) => x.event.id,
      stored: () => stored(q),
      cleanup: async () => {
        await r.stop();
        running.splice(running.indexOf(r), 1);
        await clients.close();
      },
    });
  });

  it('two replicas: every message once', async () => {
    const q = await queue(`${prefix}-pair`);
    const store = new MemoryStore();
    store.put(bus.bus());
    store.put(
      eventSource('pair', {
        azureQueueStorage: { e: config(`${prefix}-pair`, { jsonBody: true }) },
      }),
    );
    await replica(store, 'a');
    await replica(store, 'b');
    const n = 200;
    await Promise.all(
      Array.from({ length: n }, (_, i) => q.sendMessage(JSON.stringify({ seq: i }))),
    );
    await waitFor(() => bus.from('pair').length >= n, {
      timeoutMs: 120_000,
      what: 'every message',
    });
    await waitFor(async () => (await stored(q)) === 0, { timeoutMs: 30_000, what: 'queue empty' });
    const seqs = bus.from('pair').map((x) => (x.data as { body: { seq: number } }).body.seq);
    assert.equal(seqs.length, n, 'no message twice');
    assert.equal(new Set(seqs).size, n);
  });
});
