import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { createKafka } from './client.js';
import { ConsumerLagMonitor, type LagSample } from './lag-monitor.js';
import { ensureTopics } from './topics.js';

const logger = createLogger('test', { level: 'error' });

describe('ConsumerLagMonitor (consumer lag and the stalled-consumer liveness rule, real broker)', { timeout: 120_000 }, () => {
  let kafka: Kafka;
  let producer: Producer;
  let consumer: Consumer;
  const prefix = uniquePrefix('lag');
  const topic = `${prefix}-events`;
  const dlq = `${prefix}-dlq`;
  const group = `${prefix}-group`;
  const clientId = `${prefix}-client`;
  let blocked = false;
  let processed = 0;

  before(async () => {
    kafka = createKafka({ brokers: [await kafkaBrokers()], clientId, logger });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [
      { topic, numPartitions: 1, replicationFactor: 1 },
      { topic: dlq, numPartitions: 2, replicationFactor: 1 },
    ]);
    await admin.disconnect();
    producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: dlq, messages: [{ value: 'x' }, { value: 'y' }, { value: 'z' }] });
    consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }) => {
        // A blocked consumer: holds the message without committing (a stuck handler).
        await waitFor(() => !blocked, { timeoutMs: 60_000, what: 'unblock' });
        processed++;
        await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      },
    });
  });

  after(async () => {
    blocked = false;
    await consumer?.disconnect();
    await producer?.disconnect();
  });

  const sampleOf = (samples: LagSample[]): LagSample | undefined => samples.find((s) => s.group === group && s.topic === topic && s.partition === 0);

  it('reports lag 0 when caught up, counts waiting records, and measures a stall only while records wait without progress', async () => {
    const depths = new Map<string, number>();
    const monitor = new ConsumerLagMonitor({ kafka, groupPrefix: prefix, clientId, logger, onSamples: () => undefined, depthTopics: () => [dlq], onDepth: (t, d) => depths.set(t, d) });
    try {
      await producer.send({ topic, messages: [{ value: '1' }] });
      await waitFor(() => processed === 1, { timeoutMs: 30_000, what: 'the first record processed' });
      let t = Date.now();
      const healthy = await waitFor(async () => {
        const s = sampleOf(await monitor.poll(t));
        return s?.lag === 0 && s.assignedHere ? s : undefined;
      }, { timeoutMs: 30_000, what: 'a caught-up sample assigned to this client' });
      assert.equal(healthy.stalledMs, 0);
      assert.equal(depths.get(dlq), 3, 'dead-letter depth is the records retained over all partitions');

      blocked = true;
      await producer.send({ topic, messages: [{ value: '2' }, { value: '3' }] });
      t += 1000;
      const first = sampleOf(await monitor.poll(t))!;
      assert.equal(first.lag, 2);
      assert.equal(first.stalledMs, 1000, 'the clock runs from the last poll that saw no waiting records');
      t += 60_000;
      const later = sampleOf(await monitor.poll(t))!;
      assert.equal(later.stalledMs, 61_000);
      assert.equal(later.assignedHere, true);

      blocked = false;
      await waitFor(() => processed === 3, { timeoutMs: 30_000, what: 'the held records processed' });
      t += 1000;
      const recovered = await waitFor(async () => {
        const s = sampleOf(await monitor.poll(t));
        return s?.lag === 0 ? s : undefined;
      }, { timeoutMs: 30_000, what: 'lag back to 0' });
      assert.equal(recovered.stalledMs, 0);

      const other = new ConsumerLagMonitor({ kafka, groupPrefix: prefix, clientId: 'someone-else', logger, onSamples: () => undefined });
      try {
        assert.equal(sampleOf(await other.poll())?.assignedHere, false, 'another replica does not own the partition');
      } finally {
        await other.stop();
      }
    } finally {
      await monitor.stop();
    }
  });
});
