import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { KafkaBroker, PulsarStandalone, uniquePrefix, waitFor } from '@ganglion/testing';
import { BrokerIngress } from './broker-harness.js';

/** pulsar-flex's producer (the package ships no types): what the test uses of it. */
interface FlexProducer {
  create(): Promise<void>;
  sendBatch(batch: {
    messages: { payload: string; properties?: Record<string, string> }[];
  }): Promise<void>;
  close(): Promise<void>;
}
const flex = createRequire(import.meta.url)('pulsar-flex') as {
  Producer: (new (options: Record<string, unknown>) => FlexProducer) & {
    ACCESS_MODES: { SHARED: number };
  };
  logLevel: { NOTHING: number };
};

const seqOf = (data: Record<string, unknown>): number | undefined =>
  (data['body'] as { seq?: number } | undefined)?.seq;

/**
 * ingress-pulsar as processes against a Pulsar 4.2 standalone broker (its jars from Maven
 * Central), the bus on a Kafka broker of the test's own. A shared subscription named after the
 * event: the replicas compete, a message is acknowledged only once the bus has its event.
 */
describe('ingress-pulsar: a Pulsar topic bridged into the bus', { timeout: 1_200_000 }, () => {
  const prefix = uniquePrefix('pulsar-src');
  const topic = `${prefix}-orders`;
  const fullTopic = `persistent://public/default/${topic}`;
  let pulsar: PulsarStandalone;
  let producer: FlexProducer;
  let bus: KafkaBroker;
  let ingress: BrokerIngress;

  async function publish(from: number, to: number, properties: Record<string, string> = {}) {
    for (let i = from; i < to; i += 100) {
      const messages = [];
      for (let j = i; j < Math.min(to, i + 100); j++)
        messages.push({ payload: JSON.stringify({ seq: j }), properties });
      await producer.sendBatch({ messages });
    }
  }

  /** The subscription's stats (backlog, consumers), from the admin API. */
  async function subscription(): Promise<{ msgBacklog: number; consumers: unknown[] } | undefined> {
    const res = await fetch(`${pulsar.webUrl}/admin/v2/persistent/public/default/${topic}/stats`);
    if (!res.ok) return undefined;
    const stats = (await res.json()) as {
      subscriptions: Record<string, { msgBacklog: number; consumers: unknown[] }>;
    };
    return stats.subscriptions['orders'];
  }

  before(async () => {
    pulsar = await PulsarStandalone.start();
    bus = await KafkaBroker.start({ heap: '384m' });
    ingress = new BrokerIngress({
      service: 'ingress-pulsar',
      prefix,
      brokers: bus.brokers,
      seqOf,
      eventSource: {
        name: 'pulsar',
        spec: {
          pulsar: {
            orders: {
              url: pulsar.url,
              topics: [topic],
              type: 'shared',
              jsonBody: true,
              metadata: { team: 'payments' },
            },
          },
        },
      },
    });
    // A fresh broker answers UNKNOWN_TOPIC_OR_PARTITION for a moment: retried.
    await waitFor(() => ingress.start().then(() => true), {
      timeoutMs: 60_000,
      intervalMs: 1000,
      what: 'the bus topics',
    });
    await ingress.replica();
    // The subscription starts at the latest message (as Argo's): publish once it exists.
    await waitFor(async () => (await subscription())?.consumers.length === 1, {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: 'the source subscribed',
    });
    producer = new flex.Producer({
      topic: fullTopic,
      discoveryServers: [pulsar.url.replace('pulsar://', '')],
      producerAccessMode: flex.Producer.ACCESS_MODES.SHARED,
      logLevel: flex.logLevel.NOTHING,
    });
    await producer.create();
  });

  after(async () => {
    await producer?.close().catch(() => undefined);
    await ingress?.stop();
    await bus?.destroy();
    await pulsar?.stop();
  });

  it("messages arrive with Argo's data shape and ids from the message id", async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await publish(0, 3, { traceparent });
    await ingress.waitForAll(0, 3, 120_000);
    const first = ingress.events.find((e) => seqOf(e.data) === 0)!;
    assert.equal(first.event.type, 'pulsar');
    assert.equal(first.event.source, 'pulsar');
    assert.equal(first.event.subject, 'orders');
    assert.deepEqual(Object.keys(first.data).sort(), ['body', 'key', 'metadata', 'publishTime']);
    assert.deepEqual(first.data['body'], { seq: 0 });
    assert.equal(first.data['key'], '');
    assert.deepEqual(first.data['metadata'], { team: 'payments' });
    assert.match(
      String(first.data['publishTime']),
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/,
    );
    assert.match(first.id, /^[0-9a-f]{32}$/);
    assert.equal(first.event['traceparent'], traceparent);
    const ids = new Set([0, 1, 2].map((s) => [...ingress.bySeq.get(s)!][0]));
    assert.equal(ids.size, 3, 'the messages of one batch have their own ids');
    await waitFor(async () => (await subscription())?.msgBacklog === 0, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'the messages acknowledged',
    });
  });

  it('two replicas share the subscription: 2,000 messages, none twice', async () => {
    await ingress.replica();
    await waitFor(async () => (await subscription())?.consumers.length === 2, {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: 'two consumers on the subscription',
    });
    await publish(100, 2100);
    await ingress.waitForAll(100, 2100, 300_000);
    assert.equal(ingress.duplicates(100, 2100), 0, 'a message reached the bus twice');
  });

  it('a replica SIGKILLed mid-stream of 5,000 messages: every message on the bus, duplicates only with the same id', async () => {
    const victim = ingress.replicas.find((r) => r.running)!;
    const sending = publish(10_000, 15_000);
    await waitFor(() => [...ingress.bySeq.keys()].filter((s) => s >= 10_000).length > 300, {
      timeoutMs: 120_000,
      what: 'the stream to start',
    });
    await victim.stop('SIGKILL');
    await sending;
    await ingress.waitForAll(10_000, 15_000, 400_000);
    ingress.assertOneIdPerMessage(10_000, 15_000);
  });

  it('bus down: the subscription keeps its backlog, nothing is lost when the bus is back', async () => {
    await waitFor(async () => (await subscription())?.msgBacklog === 0, {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: 'the backlog acknowledged before the outage',
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
    // The backlog counts entries: 30 batches of 100 messages, none acknowledged.
    assert.equal(
      (await subscription())?.msgBacklog,
      30,
      'messages acknowledged while the bus was down',
    );
    await bus.resume();
    await ingress.waitForAll(20_000, 23_000, 400_000);
    ingress.assertOneIdPerMessage(20_000, 23_000);
  });
});
