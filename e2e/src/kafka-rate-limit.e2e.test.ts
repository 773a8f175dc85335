import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createKafka, ensureTopics, type Kafka } from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix } from '@ganglion/testing';
import { BrokerIngress } from './broker-harness.js';

const logger = createLogger('e2e', { level: 'error' });

const seqOf = (data: Record<string, unknown>): number | undefined =>
  (data['body'] as { seq?: number } | undefined)?.seq;

/** Messages per test and Argo's `limitEventsPerSecond` of both events. */
const N = 120;
const RATE = 20;

/**
 * Argo's `limitEventsPerSecond` on the kafka source, on both of its paths: the exactly-once one
 * (the topic on the bus's own cluster: consume → produce → commit in one transaction) and the
 * at-least-once one (another cluster: here the same broker under another host name, `localhost`
 * for `127.0.0.1`, which Ganglion keys as another cluster). 120 messages already in the topic
 * at 20 per second cannot reach the bus within less than ~5 s: the test reads the span of the
 * bus records' timestamps (the broker's clock, not the test's).
 */
describe('ingress-kafka: limitEventsPerSecond bounds the rate', { timeout: 600_000 }, () => {
  const prefix = uniquePrefix('kafka-rate');
  const localTopic = `${prefix}-local-in`;
  const otherTopic = `${prefix}-other-in`;
  let brokers: string;
  let kafka: Kafka;
  let ingress: BrokerIngress;

  async function publish(topic: string, from: number, to: number): Promise<void> {
    const producer = kafka.producer();
    await producer.connect();
    const messages = [];
    for (let j = from; j < to; j++) messages.push({ value: JSON.stringify({ seq: j }) });
    await producer.send({ topic, messages, acks: -1 });
    await producer.disconnect();
  }

  /** Milliseconds between the first and the last bus record of [from, to). */
  function span(from: number, to: number): number {
    const ts = ingress.events
      .filter((e) => {
        const s = seqOf(e.data);
        return s !== undefined && s >= from && s < to;
      })
      .map((e) => e.timestamp);
    return Math.max(...ts) - Math.min(...ts);
  }

  before(async () => {
    brokers = await kafkaBrokers();
    kafka = createKafka({ brokers: brokers.split(','), clientId: prefix, logger });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [
      { topic: localTopic, numPartitions: 1, replicationFactor: 1 },
      { topic: otherTopic, numPartitions: 1, replicationFactor: 1 },
    ]);
    await admin.disconnect();
    // The messages wait in the topics before the ingress starts: only the limit spaces them.
    await publish(localTopic, 0, N);
    await publish(otherTopic, 1000, 1000 + N);
    const first = brokers.split(',')[0]!;
    const host = first.slice(0, first.lastIndexOf(':'));
    const other = `${host === 'localhost' ? '127.0.0.1' : 'localhost'}:${first.slice(first.lastIndexOf(':') + 1)}`;
    ingress = await new BrokerIngress({
      service: 'ingress-kafka',
      prefix,
      brokers,
      seqOf,
      eventSource: {
        name: 'kafka',
        spec: {
          kafka: {
            local: {
              url: brokers,
              topic: localTopic,
              jsonBody: true,
              limitEventsPerSecond: RATE,
              consumerGroup: { groupName: `${prefix}-local`, oldest: true },
            },
            other: {
              url: other,
              topic: otherTopic,
              jsonBody: true,
              limitEventsPerSecond: RATE,
              consumerGroup: { groupName: `${prefix}-other`, oldest: true },
            },
          },
        },
      },
    }).start();
    await ingress.replica();
  });

  after(async () => {
    await ingress?.stop();
  });

  it('on the bus’s own cluster (exactly-once): 120 messages at 20/s span ≥ 4 s of bus time, each once', async () => {
    await ingress.waitForAll(0, N, 180_000);
    const ms = span(0, N);
    console.log(`exactly-once path: ${N} messages at limit ${RATE}/s spanned ${ms} ms on the bus`);
    assert.ok(ms >= 4000, `${N} messages reached the bus within ${ms} ms at ${RATE}/s`);
    assert.equal(ingress.duplicates(0, N), 0, 'a message reached the bus twice');
  });

  it('on another cluster (at-least-once): 120 messages at 20/s span ≥ 4 s of bus time', async () => {
    await ingress.waitForAll(1000, 1000 + N, 180_000);
    const ms = span(1000, 1000 + N);
    console.log(`at-least-once path: ${N} messages at limit ${RATE}/s spanned ${ms} ms on the bus`);
    assert.ok(ms >= 4000, `${N} messages reached the bus within ${ms} ms at ${RATE}/s`);
    ingress.assertOneIdPerMessage(1000, 1000 + N);
  });
});
