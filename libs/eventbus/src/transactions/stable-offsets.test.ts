import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix } from '@ganglion/testing';
import { createKafka, TRANSACTION_RETRY } from '../client/client.js';
import { KafkaWireError, StableOffsetReader } from './stable-offsets.js';

const logger = createLogger('test', { level: 'error' });

describe(
  'StableOffsetReader: OffsetFetch v7 with require_stable (real broker)',
  { timeout: 60_000 },
  () => {
    let kafka: Kafka;
    let admin: Admin;
    let producer: Producer;
    let reader: StableOffsetReader;
    const prefix = uniquePrefix('stable');
    const topic = `${prefix}-in`;
    const groupId = `${prefix}-group`;

    before(async () => {
      const brokers = await kafkaBrokers();
      kafka = createKafka({ brokers: [brokers], clientId: prefix, logger });
      admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [{ topic, numPartitions: 2, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      producer = kafka.producer({
        transactionalId: `${prefix}-txn`,
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { ...TRANSACTION_RETRY },
      });
      await producer.connect();
      reader = new StableOffsetReader({
        brokers: async () =>
          (await admin.describeCluster()).brokers.map((b) => `${b.host}:${b.port}`),
      });
    });

    after(async () => {
      await producer?.disconnect();
      await admin?.disconnect();
    });

    const plain = async (): Promise<string | undefined> =>
      (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions.find(
        (p) => p.partition === 0,
      )?.offset;
    const sendOffsets = (
      txn: Awaited<ReturnType<Producer['transaction']>>,
      offset: number,
    ): Promise<void> =>
      txn.sendOffsets({
        consumerGroupId: groupId,
        topics: [{ topic, partitions: [{ partition: 0, offset: String(offset) }] }],
      });

    it('a group without commits has no offsets', async () => {
      const got = await reader.fetch(groupId, topic, [0, 1]);
      assert.deepEqual(
        [...got],
        [
          [0, undefined],
          [1, undefined],
        ],
      );
    });

    it('while a transaction holds offsets, the plain read returns the old offset and the stable read waits for the outcome', async () => {
      const first = await producer.transaction();
      await sendOffsets(first, 2);
      await first.commit();
      assert.deepEqual(
        [...(await reader.fetch(groupId, topic, [0, 1]))],
        [
          [0, 2n],
          [1, undefined],
        ],
      );

      const pending = await producer.transaction();
      await sendOffsets(pending, 5);
      // The offsets of the open transaction: invisible to a plain read, unstable for ours.
      assert.equal(await plain(), '2');
      await assert.rejects(
        reader.fetch(groupId, topic, [0], 300),
        (err: unknown) =>
          err instanceof KafkaWireError &&
          err.code === 88 &&
          /UNSTABLE_OFFSET_COMMIT/.test(err.message),
      );
      const stable = reader.fetch(groupId, topic, [0], 30_000);
      await pending.commit();
      assert.equal((await stable).get(0), 5n);
      assert.equal(await plain(), '5');
    });
  },
);
