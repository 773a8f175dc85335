import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createKafka, ensureTopics, type Kafka } from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import { KafkaBroker, kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { BrokerIngress } from './broker-harness.js';

const logger = createLogger('e2e', { level: 'error' });

const naturalId = (es: string, event: string, natural: string): string =>
  createHash('sha256').update(`default\0${es}\0${event}\0${natural}`).digest('hex').slice(0, 32);

const seqOf = (data: Record<string, unknown>): number | undefined =>
  (data['body'] as { seq?: number } | undefined)?.seq;

/**
 * ingress-kafka as processes. The bus is on a broker of its own (so the test can stop it); the
 * peer ("another cluster") is the shared test broker: at-least-once, offsets committed after the
 * bus acknowledged, ids from topic/partition/offset. A second EventSource reads a topic on the
 * bus's own cluster: exactly-once (one transaction per batch).
 */
describe('ingress-kafka: Kafka topics bridged into the bus', { timeout: 900_000 }, () => {
  const prefix = uniquePrefix('kafka-src');
  const topic = `${prefix}-in`;
  const localTopic = `${prefix}-local-in`;
  let bus: KafkaBroker;
  let peer: string;
  let peerKafka: Kafka;
  let busKafka: Kafka;
  let ingress: BrokerIngress;

  async function publish(
    kafka: Kafka,
    t: string,
    from: number,
    to: number,
    headers = {},
  ): Promise<void> {
    const producer = kafka.producer();
    await producer.connect();
    for (let i = from; i < to; i += 500) {
      const messages = [];
      for (let j = i; j < Math.min(to, i + 500); j++)
        messages.push({ key: `k${j}`, value: JSON.stringify({ seq: j }), headers });
      await producer.send({ topic: t, messages, acks: -1 });
    }
    await producer.disconnect();
  }

  /** The group's committed offsets summed over partitions (-1 counts as 0). */
  async function committed(kafka: Kafka, group: string, t: string): Promise<number> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [res] = await admin.fetchOffsets({ groupId: group, topics: [t] });
      return (res?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    } finally {
      await admin.disconnect();
    }
  }

  before(async () => {
    peer = await kafkaBrokers();
    bus = await KafkaBroker.start({ heap: '384m' });
    peerKafka = createKafka({ brokers: peer.split(','), clientId: prefix, logger });
    busKafka = createKafka({ brokers: bus.brokers.split(','), clientId: prefix, logger });
    for (const [kafka, t] of [
      [peerKafka, topic],
      [busKafka, localTopic],
    ] as const) {
      // A fresh broker answers UNKNOWN_TOPIC_OR_PARTITION for a moment: retried.
      await waitFor(
        async () => {
          const admin = kafka.admin();
          await admin.connect();
          try {
            await ensureTopics(admin, [{ topic: t, numPartitions: 4, replicationFactor: 1 }]);
            return true;
          } finally {
            await admin.disconnect();
          }
        },
        { timeoutMs: 60_000, intervalMs: 500, what: `topic ${t}` },
      );
    }
    ingress = await new BrokerIngress({
      service: 'ingress-kafka',
      prefix,
      brokers: bus.brokers,
      seqOf,
      eventSource: {
        name: 'kafka',
        spec: {
          kafka: {
            orders: {
              url: peer,
              topic,
              jsonBody: true,
              consumerGroup: { groupName: `${prefix}-group`, oldest: true },
              metadata: { team: 'payments' },
            },
            local: {
              url: bus.brokers,
              topic: localTopic,
              jsonBody: true,
              consumerGroup: { groupName: `${prefix}-local-group`, oldest: true },
            },
          },
        },
      },
    }).start();
    await ingress.replica();
  });

  after(async () => {
    await ingress?.stop();
    await bus?.destroy();
  });

  it("messages arrive with Argo's data shape and ids from topic/partition/offset", async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await publish(peerKafka, topic, 0, 3, { traceparent, 'x-team': 'blue' });
    await ingress.waitForAll(0, 3, 120_000);
    const first = ingress.events.find((e) => seqOf(e.data) === 0)!;
    assert.equal(first.event.type, 'kafka');
    assert.equal(first.event.source, 'kafka');
    assert.equal(first.event.subject, 'orders');
    const d = first.data;
    assert.equal(d['topic'], topic);
    assert.equal(d['key'], 'k0');
    assert.equal(typeof d['partition'], 'number');
    assert.deepEqual(d['body'], { seq: 0 });
    assert.match(String(d['timestamp']), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/);
    assert.deepEqual(d['headers'], { traceparent, 'x-team': 'blue' });
    assert.deepEqual(d['metadata'], { team: 'payments' });
    // The id derives from the record's identity (the topic is new: offsets 0..2).
    const firstBroker = peer.split(',')[0]!;
    const candidates = [0, 1, 2].map((o) =>
      naturalId('kafka', 'orders', `${firstBroker}:${topic}:${String(d['partition'])}:${o}`),
    );
    assert.ok(candidates.includes(first.id), `id ${first.id} is not derived from the offset`);
    // The incoming trace context continues.
    assert.equal(first.event['traceparent'], traceparent);
    assert.ok(first.headers['traceparent']?.includes('0af7651916cd43dd8448eb211c80319c'));
  });

  it('an incoming CloudEvent keeps its id, source and type', async () => {
    await publish(peerKafka, topic, 3, 4, {
      ce_id: 'order-42',
      ce_specversion: '1.0',
      ce_source: 'shop',
      ce_type: 'order.created',
    });
    await ingress.waitForAll(3, 4, 60_000);
    const e = ingress.events.find((x) => seqOf(x.data) === 3)!;
    assert.equal(e.id, 'order-42');
    assert.equal(e.event['originsource'], 'shop');
    assert.equal(e.event['origintype'], 'order.created');
  });

  it('two replicas share the group: 2,000 messages, none twice', async () => {
    const second = await ingress.replica();
    // Both members joined before publishing (a join moves partitions: redelivery, same ids).
    await waitFor(
      async () => {
        const admin = peerKafka.admin();
        await admin.connect();
        try {
          const { groups } = await admin.describeGroups([`${prefix}-group`]);
          return groups[0]?.state === 'Stable' && groups[0].members.length === 2;
        } finally {
          await admin.disconnect();
        }
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'two members in the consumer group' },
    );
    await publish(peerKafka, topic, 100, 2100);
    await ingress.waitForAll(100, 2100);
    assert.equal(ingress.duplicates(100, 2100), 0, 'a message reached the bus twice');
    const worked = ingress.replicas.filter((r) =>
      r.records().some((l) => l['msg'] === 'broker source connected'),
    );
    assert.equal(worked.length, 2);
    void second;
  });

  it('a replica SIGKILLed mid-stream of 5,000 messages: every message on the bus, duplicates only with the same id', async () => {
    const victim = ingress.replicas[0]!;
    const sending = publish(peerKafka, topic, 10_000, 15_000);
    await waitFor(() => ingress.bySeq.size > 2200, {
      timeoutMs: 120_000,
      what: 'the stream to start',
    });
    await victim.stop('SIGKILL');
    await sending;
    await ingress.replica();
    await ingress.waitForAll(10_000, 15_000);
    ingress.assertOneIdPerMessage(10_000, 15_000);
  });

  it('bus down: the source is not drained, and nothing is lost when it is back', async () => {
    const group = `${prefix}-group`;
    await waitFor(async () => (await committed(peerKafka, group, topic)) >= 5000 + 2000 + 4, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'every offset so far committed',
    });
    const before = await committed(peerKafka, group, topic);
    await bus.stop();
    await publish(peerKafka, topic, 20_000, 23_000);
    // The ingress read new messages and failed to publish them: nothing may be committed.
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
    assert.equal(
      await committed(peerKafka, group, topic),
      before,
      'offsets committed while the bus was down',
    );
    await bus.resume();
    await ingress.waitForAll(20_000, 23_000);
    ingress.assertOneIdPerMessage(20_000, 23_000);
  });

  it('on the bus’s own cluster: exactly once, also when a replica is SIGKILLed mid-stream', async () => {
    const sending = publish(busKafka, localTopic, 30_000, 35_000);
    await waitFor(() => [...ingress.bySeq.keys()].some((s) => s >= 31_000), {
      timeoutMs: 120_000,
      what: 'the local stream to start',
    });
    const victim = ingress.replicas.find((r) => r.running)!;
    await victim.stop('SIGKILL');
    await sending;
    await ingress.replica();
    await ingress.waitForAll(30_000, 35_000);
    assert.equal(ingress.duplicates(30_000, 35_000), 0, 'a message reached the bus twice');
    const local = ingress.events.find((e) => seqOf(e.data) === 30_000)!;
    assert.equal(local.event.subject, 'local');
  });
});
