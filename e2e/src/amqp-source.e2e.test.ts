import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import amqp, { type ChannelModel } from 'amqplib';
import { KafkaBroker, RabbitMqServer, uniquePrefix, waitFor } from '@ganglion/testing';
import { BrokerIngress } from './broker-harness.js';

const naturalId = (es: string, event: string, natural: string): string =>
  createHash('sha256').update(`default\0${es}\0${event}\0${natural}`).digest('hex').slice(0, 32);

const seqOf = (data: Record<string, unknown>): number | undefined =>
  (data['body'] as { seq?: number } | undefined)?.seq;

/**
 * ingress-amqp as processes against a private RabbitMQ node, the bus on a Kafka broker of its
 * own (so the test can stop it). The event consumes the shared durable queue Ganglion declares
 * for it (`ganglion.default.amqp.orders`): replicas compete for its messages, a delivery is
 * acknowledged only once the bus has its event, ids come from the message id.
 */
describe('ingress-amqp: RabbitMQ queues bridged into the bus', { timeout: 900_000 }, () => {
  const prefix = uniquePrefix('amqp-src');
  const exchange = `${prefix}-ex`;
  const queue = 'ganglion.default.amqp.orders';
  let rabbit: RabbitMqServer;
  let bus: KafkaBroker;
  let conn: ChannelModel;
  let ingress: BrokerIngress;

  /** Publishes messages [from, to) with their sequence number as message id, confirmed. */
  async function publish(from: number, to: number, headers: Record<string, string> = {}) {
    const confirm = await conn.createConfirmChannel();
    for (let i = from; i < to; i++) {
      const ok = confirm.publish(
        exchange,
        'order.created',
        Buffer.from(JSON.stringify({ seq: i })),
        {
          messageId: `m-${i}`,
          contentType: 'application/json',
          persistent: true,
          timestamp: 1_700_000_000,
          headers,
        },
      );
      if (!ok) await new Promise((r) => confirm.once('drain', r));
    }
    await confirm.waitForConfirms();
    await confirm.close();
  }

  /** The queue's ready messages and consumers (a channel of its own: a miss closes it). */
  async function queueInfo(): Promise<{ messageCount: number; consumerCount: number }> {
    const own = await conn.createChannel();
    own.on('error', () => undefined);
    try {
      return await own.checkQueue(queue);
    } finally {
      await own.close().catch(() => undefined);
    }
  }
  const queueDepth = async (): Promise<number> => (await queueInfo()).messageCount;

  before(async () => {
    rabbit = await RabbitMqServer.start();
    bus = await KafkaBroker.start({ heap: '384m' });
    conn = await amqp.connect(rabbit.url);
    ingress = await new BrokerIngress({
      service: 'ingress-amqp',
      prefix,
      brokers: bus.brokers,
      seqOf,
      eventSource: {
        name: 'amqp',
        spec: {
          amqp: {
            orders: {
              url: rabbit.url,
              exchangeName: exchange,
              exchangeType: 'topic',
              routingKey: 'order.*',
              jsonBody: true,
              metadata: { team: 'payments' },
            },
          },
        },
      },
    }).start();
    await ingress.replica();
    // The replica declared the exchange, the queue and the binding.
    await waitFor(async () => (await queueInfo()).consumerCount === 1, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'the queue declared and consumed by the source',
    });
  });

  after(async () => {
    await ingress?.stop();
    await conn?.close().catch(() => undefined);
    await bus?.destroy();
    await rabbit?.stop();
  });

  it("messages arrive with Argo's data shape and ids from the message id", async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await publish(0, 3, { traceparent });
    await ingress.waitForAll(0, 3, 120_000);
    const first = ingress.events.find((e) => seqOf(e.data) === 0)!;
    assert.equal(first.event.type, 'amqp');
    assert.equal(first.event.source, 'amqp');
    assert.equal(first.event.subject, 'orders');
    assert.deepEqual(first.data, {
      contentType: 'application/json',
      contentEncoding: '',
      deliveryMode: 2,
      priority: 0,
      correlationId: '',
      replyTo: '',
      expiration: '',
      messageId: 'm-0',
      timestamp: '2023-11-14 22:13:20 +0000 UTC',
      type: '',
      appId: '',
      exchange,
      routingKey: 'order.created',
      body: { seq: 0 },
      metadata: { team: 'payments' },
    });
    assert.equal(first.id, naturalId('amqp', 'orders', 'message-id/m-0'));
    assert.equal(first.event['traceparent'], traceparent);
    assert.equal(await queueDepth(), 0, 'acknowledged messages left the queue');
  });

  it('an incoming CloudEvent (AMQP binding headers) keeps its id, source and type', async () => {
    await publish(3, 4, {
      'cloudEvents:id': 'order-42',
      'cloudEvents:specversion': '1.0',
      'cloudEvents:source': 'shop',
      'cloudEvents:type': 'order.created',
    });
    await ingress.waitForAll(3, 4, 60_000);
    const e = ingress.events.find((x) => seqOf(x.data) === 3)!;
    assert.equal(e.id, 'order-42');
    assert.equal(e.event['originsource'], 'shop');
    assert.equal(e.event['origintype'], 'order.created');
  });

  it('two replicas compete for the queue: 2,000 messages, none twice', async () => {
    await ingress.replica();
    await waitFor(async () => (await queueInfo()).consumerCount === 2, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'two consumers on the queue',
    });
    await publish(100, 2100);
    await ingress.waitForAll(100, 2100);
    assert.equal(ingress.duplicates(100, 2100), 0, 'a message reached the bus twice');
  });

  it('a replica SIGKILLed mid-stream of 5,000 messages: every message on the bus, duplicates only with the same id', async () => {
    const victim = ingress.replicas.find((r) => r.running)!;
    const sending = publish(10_000, 15_000);
    await waitFor(() => [...ingress.bySeq.keys()].filter((s) => s >= 10_000).length > 500, {
      timeoutMs: 120_000,
      what: 'the stream to start',
    });
    await victim.stop('SIGKILL');
    await sending;
    await ingress.waitForAll(10_000, 15_000);
    ingress.assertOneIdPerMessage(10_000, 15_000);
  });

  it('bus down: the queue is not drained, and nothing is lost when the bus is back', async () => {
    await waitFor(async () => (await queueDepth()) === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'the queue drained before the outage',
    });
    await bus.stop();
    await publish(20_000, 23_000);
    const failures = (): number =>
      ingress.replicas
        .filter((r) => r.running)
        .flatMap((r) => r.records())
        .filter((l) => l['msg'] === 'event not published; retrying').length;
    const already = failures();
    await waitFor(() => failures() > already, {
      timeoutMs: 120_000,
      intervalMs: 200,
      what: 'the ingress to fail publishing while the bus is down',
    });
    // Every message is still in the queue: ready, or delivered to a replica and unacknowledged
    // (at most the prefetch per consumer).
    const q = await queueInfo();
    assert.ok(
      q.messageCount >= 3000 - 2 * 500,
      `only ${q.messageCount} ready while the bus is down`,
    );
    await bus.resume();
    await ingress.waitForAll(20_000, 23_000);
    ingress.assertOneIdPerMessage(20_000, 23_000);
    await waitFor(async () => (await queueDepth()) === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'the queue drained after the outage',
    });
  });
});
