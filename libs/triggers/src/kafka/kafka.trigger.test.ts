import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KafkaTrigger, Trigger } from '@ganglion/api';
import { createKafka, ensureTopics, type Kafka, type KafkaMessage } from '@ganglion/eventbus';
import { freePort, kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { context, event, quietLogger, secretsDir } from '../fixtures/trigger.fixtures.js';
import { ACTION_ID_HEADER, createKafkaTrigger } from './kafka.trigger.js';

describe('kafka trigger against a real broker', { timeout: 120_000 }, () => {
  const plugin = createKafkaTrigger(quietLogger);
  let brokers: string;
  let kafka: Kafka;
  const topic = `${uniquePrefix('kafka-trigger')}-out`;
  const received: KafkaMessage[] = [];
  let stopConsumer: () => Promise<void> = async () => undefined;

  before(async () => {
    brokers = await kafkaBrokers();
    kafka = createKafka({
      brokers: brokers.split(','),
      clientId: 'kafka-trigger-test',
      logger: quietLogger,
    });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 3, replicationFactor: 1 }]);
    await admin.disconnect();
    const consumer = kafka.consumer({ groupId: `${topic}-reader` });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void received.push(message) });
    stopConsumer = () => consumer.disconnect();
  });
  after(async () => {
    await plugin.close?.();
    await stopConsumer();
  });

  const dir = secretsDir({ kafka: { header: 'from-secret' } });
  const events = { dep: event({ id: 'order-42', amount: 7 }) };

  it('produces the payload keyed by partitioningKey (set by a parameter), with headers, secureHeaders and the action id, and succeeds only once acknowledged', async () => {
    const t: KafkaTrigger = {
      url: brokers,
      topic,
      payload: [{ src: { dependencyName: 'dep', dataKey: 'amount' }, dest: 'amount' }],
      parameters: [{ src: { dependencyName: 'dep', dataKey: 'id' }, dest: 'partitioningKey' }],
      headers: { 'x-static': 'yes' },
      secureHeaders: [
        { name: 'x-secret', valueFrom: { secretKeyRef: { name: 'kafka', key: 'header' } } },
      ],
    };
    const r = await plugin.execute(
      t,
      { template: { name: 'k' } } as Trigger,
      events,
      context({ secretsDir: dir, actionId: 'b'.repeat(32) }),
    );
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.match(r.ok ? r.detail : '', /offset \d+/);
    const m = await waitFor(
      () => received.find((x) => x.headers?.[ACTION_ID_HEADER]?.toString() === 'b'.repeat(32)),
      { timeoutMs: 30_000, what: 'the produced record' },
    );
    assert.equal(m.key?.toString(), 'order-42');
    assert.deepEqual(JSON.parse(m.value!.toString()), { amount: '7' });
    assert.equal(m.headers?.['x-static']?.toString(), 'yes');
    assert.equal(m.headers?.['x-secret']?.toString(), 'from-secret');
  });

  it('a topic that does not exist fails the attempt (retryable), it is not reported as sent', async () => {
    const r = await plugin.execute(
      { url: brokers, topic: `${topic}-missing`, payload: [] },
      { template: { name: 'k' } } as Trigger,
      events,
      context(),
    );
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.retryable, true);
  });

  it('an unreachable broker fails the attempt', async () => {
    const port = await freePort();
    const r = await plugin.execute(
      { url: `127.0.0.1:${port}`, topic, payload: [] },
      { template: { name: 'k' } } as Trigger,
      events,
      context(),
    );
    assert.equal(r.ok, false);
  });

  it('schemaRegistry (Avro) is refused with a clear message', async () => {
    const r = await plugin.execute(
      { url: brokers, topic, payload: [], schemaRegistry: { url: 'http://x' } },
      { template: { name: 'k' } } as Trigger,
      events,
      context(),
    );
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /schemaRegistry .* not supported/);
  });
});
