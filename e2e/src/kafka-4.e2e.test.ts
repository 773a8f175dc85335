import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { busTopics, createKafka, type Admin } from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import { freePort, KafkaBroker, uniquePrefix, waitFor } from '@ganglion/testing';
import { eventBusYaml, manifestDir, Stack, TargetServer, webhookSourceYaml } from './harness.js';

/**
 * The Kafka 4.x entry of `npm test` (README "Kafka versions"): the run's own broker is
 * `KAFKA_VERSION` (3.9.1 by default), and this file starts a second broker of the newest 4.x
 * release tested, 4.4.0 (jars fetched from Maven Central once, cached in
 * ~/.cache/ganglion/kafka-4.4.0), and runs the representative path on it: webhook → sensor
 * (exactly-once transactions, consumer group) → http trigger (consumer group, committed offsets).
 */
const KAFKA_4 = '4.4.0';
const logger = createLogger('e2e', { level: 'error' });
const EVENTS = 20;

describe(`webhook → sensor → trigger on Kafka ${KAFKA_4}`, { timeout: 600_000 }, () => {
  let broker: KafkaBroker;
  let stack: Stack;
  let target: TargetServer;
  let admin: Admin;
  let webhookUrl: string;
  const prefix = uniquePrefix('e2e-kafka4');
  const topics = busTopics(`${prefix}-bus`);

  before(async () => {
    broker = await KafkaBroker.start({ version: KAFKA_4 });
    target = await new TargetServer().start();
    const port = await freePort();
    webhookUrl = `http://127.0.0.1:${port}/example`;
    const dir = manifestDir({
      'eventbus.yaml': eventBusYaml(topics.events),
      'eventsource.yaml': webhookSourceYaml('webhook', port, ['example']),
      'sensor.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: kafka4}
spec:
  dependencies:
    - {name: dep, eventSourceName: webhook, eventName: example}
  triggers:
    - template:
        name: http
        http:
          url: http://127.0.0.1:${target.port}/notify
          method: POST
          payload:
            - {src: {dependencyName: dep, dataKey: body.seq}, dest: seq}
`,
    });
    stack = await new Stack(broker.brokers, prefix, dir).start();
    admin = createKafka({ brokers: [broker.brokers], clientId: `${prefix}-check`, logger }).admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect();
    await stack?.stop();
    await target?.stop();
    await broker?.destroy();
  });

  it('delivers every posted event to the target exactly once, through committed transactions and consumer groups', async () => {
    for (let i = 0; i < EVENTS; i++) {
      const res = await fetch(webhookUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ seq: i }),
      });
      // 2xx only after the 4.x broker acknowledged the event.
      assert.equal(res.status, 200, await res.text());
    }
    const seqs = (): number[] =>
      target.calls
        .filter((c) => c.url === '/notify')
        .map((c) => Number((c.body as { seq: unknown }).seq));
    await waitFor(() => new Set(seqs()).size === EVENTS, {
      timeoutMs: 120_000,
      what: `the ${EVENTS} http trigger calls`,
    });

    // The sensor's transactions committed its input offsets to its group, up to the end of the
    // events topic (written by the ingress's idempotent producer: no transaction markers there).
    const sensorGroup = `ganglion-sensor.${topics.events}`;
    await waitFor(
      async () => {
        const ends = await admin.fetchTopicOffsets(topics.events);
        const [committed] = await admin.fetchOffsets({
          groupId: sensorGroup,
          topics: [topics.events],
        });
        // Every event has the same key, so one partition has them all; the others stay empty
        // (nothing committed there: -1).
        return ends.every(
          (e) =>
            e.high === '0' ||
            committed?.partitions.find((p) => p.partition === e.partition)?.offset === e.high,
        );
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the sensor group to commit every event offset' },
    );
    const groups = await admin.describeGroups([sensorGroup, 'ganglion-trigger']);
    for (const g of groups.groups)
      assert.equal(g.state, 'Stable', `${g.groupId} is ${g.state} on Kafka ${KAFKA_4}`);
    assert.ok(groups.groups.every((g) => g.members.length === 1));

    // The actions the sensor produced are visible to read_committed readers, once each.
    const actions: string[] = [];
    const consumer = createKafka({
      brokers: [broker.brokers],
      clientId: `${prefix}-read`,
      logger,
    }).consumer({ groupId: `${prefix}-read`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topics.actions], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => void actions.push(String(message.key)),
      });
      await waitFor(() => actions.length >= EVENTS || undefined, {
        timeoutMs: 30_000,
        what: 'the committed actions',
      });
    } finally {
      await consumer.disconnect();
    }
    assert.equal(actions.length, EVENTS);

    // Nothing arrived twice.
    const all = seqs();
    assert.equal(all.length, EVENTS, `target calls: ${JSON.stringify(all)}`);
    assert.deepEqual(
      [...all].sort((a, b) => a - b),
      Array.from({ length: EVENTS }, (_, i) => i),
    );
  });
});
