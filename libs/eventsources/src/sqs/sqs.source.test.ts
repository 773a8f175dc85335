import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SQSClient,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { BusClients } from '@ganglion/eventbus';
import { ElasticMq, freePort, kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { naturalEventId } from '../kit/cloudevent.js';
import { BusFixture, MemoryStore, eventSource } from '../kit/push-harness.test-support.js';
import {
  busOn,
  expectAllOnceTheBusIsBack,
  startReplica,
  type QueueReplica,
} from '../kit/queue-harness.test-support.js';
import { sqsSource } from './sqs.source.js';

const SECRETS = { aws: { accesskey: 'test-key', secretkey: 'test-secret' } };

/** The sqs source against ElasticMQ (a real SQS-compatible server) and a real Kafka broker. */
describe('sqs source', { timeout: 600_000 }, () => {
  const prefix = uniquePrefix('sqs');
  let mq: ElasticMq;
  let sqs: SQSClient;
  let bus: BusFixture;
  const running: QueueReplica[] = [];

  const config = (queue: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    queue,
    region: 'us-east-1',
    endpoint: mq.endpoint,
    waitTimeSeconds: 1,
    accessKey: { name: 'aws', key: 'accesskey' },
    secretKey: { name: 'aws', key: 'secretkey' },
    ...extra,
  });

  async function queue(name: string, attributes: Record<string, string> = {}): Promise<string> {
    const res = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    return res.QueueUrl!;
  }

  async function send(
    url: string,
    entries: Omit<SendMessageBatchRequestEntry, 'Id'>[],
  ): Promise<void> {
    for (let i = 0; i < entries.length; i += 10) {
      const res = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: entries.slice(i, i + 10).map((e, j) => ({ Id: String(j), ...e })),
        }),
      );
      assert.equal(res.Failed?.length ?? 0, 0, JSON.stringify(res.Failed));
    }
  }

  /** Messages in the queue, visible or in flight. */
  async function stored(url: string): Promise<number> {
    const res = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const a = res.Attributes ?? {};
    return (
      Number(a['ApproximateNumberOfMessages']) + Number(a['ApproximateNumberOfMessagesNotVisible'])
    );
  }

  async function inFlight(url: string): Promise<number> {
    const res = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return Number(res.Attributes?.['ApproximateNumberOfMessagesNotVisible']);
  }

  async function replica(
    store: MemoryStore,
    id: string,
    clients = bus.clients,
  ): Promise<QueueReplica> {
    const r = await startReplica(sqsSource, store, clients, bus.logger, id, SECRETS);
    running.push(r);
    return r;
  }

  before(async () => {
    [mq, bus] = await Promise.all([
      ElasticMq.start(),
      kafkaBrokers().then((b) => new BusFixture(b, `${prefix}-bus`).start()),
    ]);
    sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: mq.endpoint,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
  });

  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
    sqs?.destroy();
    await bus?.stop();
    await mq?.stop();
  });

  it("publishes Argo's data ({messageId, messageAttributes, body, metadata}) and deletes after publishing", async () => {
    const plain = await queue(`${prefix}-plain`);
    const json = await queue(`${prefix}-json`);
    const store = new MemoryStore();
    store.put(bus.bus());
    store.put(
      eventSource('orders', {
        sqs: {
          plain: config(`${prefix}-plain`, { metadata: { team: 'a' } }),
          json: config(`${prefix}-json`, { jsonBody: true, filter: { expression: 'body.n > 0' } }),
        },
      }),
    );
    await replica(store, 'one');
    await send(plain, [
      {
        MessageBody: 'hello',
        MessageAttributes: {
          color: { DataType: 'String', StringValue: 'red' },
          raw: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]) },
        },
      },
    ]);
    await send(json, [{ MessageBody: '{"n":0}' }, { MessageBody: '{"n":1,"s":"x"}' }]);
    await waitFor(() => bus.from('orders').length >= 2, { timeoutMs: 60_000, what: 'two events' });
    const byName = (s: string) => bus.from('orders').filter((r) => r.event.subject === s);
    const [p] = byName('plain');
    const d = p!.data as Record<string, unknown>;
    assert.equal(p!.event.type, 'sqs');
    assert.equal(p!.event.source, 'orders');
    assert.equal(
      p!.event.id,
      naturalEventId('default', 'orders', 'plain', d['messageId'] as string),
    );
    assert.deepEqual(d, {
      messageId: d['messageId'],
      messageAttributes: {
        color: {
          BinaryListValues: null,
          BinaryValue: null,
          DataType: 'String',
          StringListValues: null,
          StringValue: 'red',
        },
        raw: {
          BinaryListValues: null,
          BinaryValue: Buffer.from([1, 2, 3]).toString('base64'),
          DataType: 'Binary',
          StringListValues: null,
          StringValue: null,
        },
      },
      body: Buffer.from('hello').toString('base64'),
      metadata: { team: 'a' },
    });
    const js = byName('json');
    assert.equal(js.length, 1, 'the filtered message is not published');
    assert.deepEqual((js[0]!.data as { body: unknown }).body, { n: 1, s: 'x' });
    assert.equal((js[0]!.data as { messageAttributes: unknown }).messageAttributes, null);
    // Published and filtered messages alike are deleted.
    await waitFor(async () => (await stored(plain)) === 0 && (await stored(json)) === 0, {
      timeoutMs: 30_000,
      what: 'both queues empty',
    });
  });

  it('jsonBody: a body that is not JSON is deleted unpublished, or left for the dead-letter queue with dlq', async () => {
    const dead = await queue(`${prefix}-dead`);
    const deadArn = `arn:aws:sqs:elasticmq:000000000000:${prefix}-dead`;
    const kept = await queue(`${prefix}-kept`, {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadArn, maxReceiveCount: '1' }),
    });
    const dropped = await queue(`${prefix}-dropped`);
    const store = new MemoryStore();
    store.put(bus.bus());
    store.put(
      eventSource('bad', {
        sqs: {
          kept: config(`${prefix}-kept`, { jsonBody: true, dlq: true }),
          dropped: config(`${prefix}-dropped`, { jsonBody: true }),
        },
      }),
    );
    await replica(store, 'one');
    await send(kept, [{ MessageBody: 'not json' }, { MessageBody: '{"ok":true}' }]);
    await send(dropped, [{ MessageBody: 'not json' }, { MessageBody: '{"ok":true}' }]);
    await waitFor(() => bus.from('bad').length === 2, {
      timeoutMs: 60_000,
      what: 'the JSON bodies',
    });
    await waitFor(async () => (await stored(dropped)) === 0, {
      timeoutMs: 30_000,
      what: 'the non-JSON body deleted without dlq',
    });
    // With dlq the message is not deleted: it is received again once invisible time ran out,
    // and the queue's redrive policy moves it to the dead-letter queue.
    await waitFor(async () => (await stored(dead)) === 1, {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: 'the non-JSON body in the dead-letter queue',
    });
    assert.equal(bus.from('bad').length, 2);
  });

  it('bus down: nothing is deleted while the bus is unavailable; everything is published once it is back', async () => {
    const url = await queue(`${prefix}-outage`);
    const port = await freePort();
    const downBus = busOn('down', `127.0.0.1:${port}`, `${prefix}-down-bus`);
    const store = new MemoryStore();
    store.put(downBus);
    store.put(
      eventSource('outage', { eventBusName: 'down', sqs: { e: config(`${prefix}-outage`) } }),
    );
    const clients = new BusClients({
      brokers: (await kafkaBrokers()).split(','),
      clientId: `${prefix}-down`,
      logger: bus.logger,
    });
    const n = 25;
    await send(
      url,
      Array.from({ length: n }, (_, i) => ({ MessageBody: JSON.stringify({ seq: i }) })),
    );
    const r = await replica(store, 'one', clients);
    await waitFor(async () => (await inFlight(url)) === n, {
      timeoutMs: 60_000,
      what: 'all messages taken',
    });
    // Past one visibility lease (30 s): the messages are still held, renewed, not deleted.
    const taken = Date.now();
    await waitFor(async () => Date.now() - taken > 35_000 && (await inFlight(url)) === n, {
      timeoutMs: 60_000,
      intervalMs: 1000,
      what: 'the messages still held after a lease',
    });
    assert.equal(await stored(url), n, 'nothing deleted while the bus is down');
    await expectAllOnceTheBusIsBack({
      port,
      topic: `${prefix}-down-bus`,
      n,
      idOf: (x) => (x.data as { body: string }).body,
      stored: () => stored(url),
      cleanup: async () => {
        await r.stop();
        running.splice(running.indexOf(r), 1);
        await clients.close();
      },
    });
  });

  it('two replicas: every message once; a FIFO queue keeps each message group in order', async () => {
    const std = await queue(`${prefix}-std`);
    const fifo = await queue(`${prefix}-order.fifo`, {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
    });
    const store = new MemoryStore();
    store.put(bus.bus());
    store.put(
      eventSource('pair', {
        sqs: {
          std: config(`${prefix}-std`, { jsonBody: true }),
          fifo: config(`${prefix}-order.fifo`, { jsonBody: true }),
        },
      }),
    );
    await replica(store, 'a');
    await replica(store, 'b');
    const n = 200;
    await send(
      std,
      Array.from({ length: n }, (_, i) => ({ MessageBody: JSON.stringify({ seq: i }) })),
    );
    const groups = ['g1', 'g2', 'g3'];
    const perGroup = 30;
    for (let i = 0; i < perGroup; i++)
      await send(
        fifo,
        groups.map((g) => ({ MessageBody: JSON.stringify({ g, i }), MessageGroupId: g })),
      );
    const of = (s: string) => bus.from('pair').filter((r) => r.event.subject === s);
    await waitFor(() => of('std').length >= n && of('fifo').length >= groups.length * perGroup, {
      timeoutMs: 180_000,
      what: 'every message on the bus',
    });
    await waitFor(async () => (await stored(std)) === 0 && (await stored(fifo)) === 0, {
      timeoutMs: 30_000,
      what: 'queues empty',
    });
    const seqs = of('std').map((r) => (r.data as { body: { seq: number } }).body.seq);
    assert.equal(seqs.length, n, 'no message twice');
    assert.equal(new Set(seqs).size, n);
    assert.equal(new Set(of('std').map((r) => r.event.id)).size, n);
    for (const g of groups) {
      const order = of('fifo')
        .map((r) => (r.data as { body: { g: string; i: number } }).body)
        .filter((b) => b.g === g)
        .map((b) => b.i);
      assert.deepEqual(
        order,
        Array.from({ length: perGroup }, (_, i) => i),
        `group ${g} in order`,
      );
    }
  });
});
