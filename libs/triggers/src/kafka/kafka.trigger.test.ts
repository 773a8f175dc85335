import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KafkaTrigger, Trigger } from '@ganglion/api';
import { createKafka, ensureTopics, type Kafka, type KafkaMessage } from '@ganglion/eventbus';
import { freePort, KafkaBroker, kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
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

describe(
  'kafka trigger over SASL_SSL (real broker with a SASL_SSL listener)',
  { timeout: 300_000 },
  () => {
    const plugin = createKafkaTrigger(quietLogger);
    let broker: KafkaBroker;
    const topic = `${uniquePrefix('kafka-trigger-tls')}-out`;
    let dir = '';

    before(async () => {
      broker = await KafkaBroker.start({ secure: true });
      const admin = createKafka({
        brokers: [broker.brokers],
        clientId: 'kafka-trigger-tls-test',
        logger: quietLogger,
      }).admin();
      await admin.connect();
      await ensureTopics(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]);
      await admin.disconnect();
      dir = secretsDir({
        'kafka-tls': { 'ca.crt': broker.secure.ca },
        'kafka-login': { user: broker.secure.user.username, password: broker.secure.user.password },
        'kafka-wrong': { password: 'not-the-password' },
      });
    });
    after(async () => {
      await plugin.close?.();
      await broker?.destroy();
    });

    const template = (passwordSecret: string): KafkaTrigger => ({
      url: broker.secure.saslSsl,
      topic,
      payload: [{ src: { dependencyName: 'dep', dataKey: 'id' }, dest: 'id' }],
      tls: { caCertSecret: { name: 'kafka-tls', key: 'ca.crt' } },
      sasl: {
        mechanism: 'SCRAM-SHA-256',
        userSecret: { name: 'kafka-login', key: 'user' },
        passwordSecret: { name: passwordSecret, key: 'password' },
      },
    });

    it('produces with TLS (CA from a Secret) and SCRAM-SHA-256; a wrong password fails the attempt', async () => {
      const events = { dep: event({ id: 'tls-1' }) };
      const ok = await plugin.execute(
        template('kafka-login'),
        { template: { name: 'k' } } as Trigger,
        events,
        context({ secretsDir: dir, actionId: 'c'.repeat(32) }),
      );
      assert.equal(ok.ok, true, JSON.stringify(ok));
      const check = createKafka({
        brokers: [broker.brokers],
        clientId: 'kafka-trigger-tls-check',
        logger: quietLogger,
      }).admin();
      await check.connect();
      const latest = await check.fetchTopicOffsets(topic);
      await check.disconnect();
      assert.equal(latest[0]?.high, '1');
      const refused = await plugin.execute(
        template('kafka-wrong'),
        { template: { name: 'k' } } as Trigger,
        events,
        context({ secretsDir: dir, actionId: 'd'.repeat(32) }),
      );
      assert.equal(refused.ok, false);
      assert.match(refused.ok ? '' : refused.error, /authentication failed/i);
    });
  },
);
