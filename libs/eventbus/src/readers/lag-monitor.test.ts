import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { createKafka } from '../client/client.js';
import { ConsumerActivity } from '../loops/consumer-activity.js';
import { ConsumerLagMonitor, type LagSample } from './lag-monitor.js';
import { ensureTopics } from '../client/topics.js';

const logger = createLogger('test', { level: 'error' });

describe(
  'ConsumerLagMonitor and ConsumerActivity (lag, and the stuck-consumer liveness rule, real broker)',
  { timeout: 120_000 },
  () => {
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
    const activity = new ConsumerActivity();

    before(async () => {
      kafka = activity.watch(createKafka({ brokers: [await kafkaBrokers()], clientId, logger }));
      const admin = kafka.admin();
      await admin.connect();
      await ensureTopics(admin, [
        { topic, numPartitions: 1, replicationFactor: 1 },
        { topic: dlq, numPartitions: 2, replicationFactor: 1 },
      ]);
      await admin.disconnect();
      producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic: dlq,
        messages: [{ value: 'x' }, { value: 'y' }, { value: 'z' }],
      });
      consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ message, partition }) => {
          // A blocked consumer: holds the message without committing (a stuck handler).
          await waitFor(() => !blocked, { timeoutMs: 60_000, what: 'unblock' });
          processed++;
          await consumer.commitOffsets([
            { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
          ]);
        },
      });
    });

    after(async () => {
      blocked = false;
      await consumer?.disconnect();
      await producer?.disconnect();
    });

    const sampleOf = (samples: LagSample[]): LagSample | undefined =>
      samples.find((s) => s.group === group && s.topic === topic && s.partition === 0);

    it('reports lag and DLQ depth; a batch held in processing is busy with a growing age, and idle once it completes', async () => {
      const depths = new Map<string, number>();
      const monitor = new ConsumerLagMonitor({
        kafka,
        groupPrefix: prefix,
        clientId,
        logger,
        onSamples: () => undefined,
        depthTopics: () => [dlq],
        onDepth: (t, d) => depths.set(t, d),
      });
      try {
        await producer.send({ topic, messages: [{ value: '1' }] });
        await waitFor(() => processed === 1, {
          timeoutMs: 30_000,
          what: 'the first record processed',
        });
        const healthy = await waitFor(
          async () => {
            const s = sampleOf(await monitor.poll());
            return s?.lag === 0 && s.assignedHere ? s : undefined;
          },
          { timeoutMs: 30_000, what: 'a caught-up sample assigned to this client' },
        );
        assert.equal(healthy.partition, 0);
        assert.equal(
          depths.get(dlq),
          3,
          'dead-letter depth is the records retained over all partitions',
        );
        await waitFor(() => activity.busy().length === 0, {
          timeoutMs: 10_000,
          what: 'no batch in processing when idle',
        });

        blocked = true;
        await producer.send({ topic, messages: [{ value: '2' }, { value: '3' }] });
        const busy = await waitFor(() => activity.busy().find((b) => b.topic === topic), {
          timeoutMs: 30_000,
          what: 'the held batch in processing',
        });
        assert.equal(busy.group, group);
        assert.equal(busy.partition, 0);
        const t = Date.now();
        assert.ok(activity.busy(t + 60_000)[0]!.ms >= 60_000, 'its age grows while it is held');
        assert.equal(sampleOf(await monitor.poll())?.lag, 2);

        blocked = false;
        await waitFor(() => processed === 3, {
          timeoutMs: 30_000,
          what: 'the held records processed',
        });
        await waitFor(() => activity.busy().length === 0, {
          timeoutMs: 10_000,
          what: 'the batch to complete',
        });
        await waitFor(async () => sampleOf(await monitor.poll())?.lag === 0, {
          timeoutMs: 30_000,
          what: 'lag back to 0',
        });

        const other = new ConsumerLagMonitor({
          kafka,
          groupPrefix: prefix,
          clientId: 'someone-else',
          logger,
          onSamples: () => undefined,
        });
        try {
          assert.equal(
            sampleOf(await other.poll())?.assignedHere,
            false,
            'another replica does not own the partition',
          );
        } finally {
          await other.stop();
        }
      } finally {
        await monitor.stop();
      }
    });
  },
);
