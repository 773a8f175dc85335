import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaBroker, uniquePrefix } from '@ganglion/testing';
import { transactionalProducer } from '../transactions/transactional-producer.test-support.js';

/**
 * The kafkajs patch (patches/kafkajs@2.2.4.patch, eosManager) retries TxnOffsetCommit when the
 * group coordinator is still loading or has moved. kafkajs listed those errors under the Java
 * client's names (COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR), which its own error table
 * calls GROUP_LOAD_IN_PROGRESS and NOT_COORDINATOR_FOR_GROUP: nothing matched and the commit
 * failed at once. A broker's first transactions meet exactly that (its __consumer_offsets
 * partitions are created and loaded by the first FindCoordinator), so this runs on a broker of
 * its own, started for it (and restarted by the second test).
 */
describe(
  'kafkajs TxnOffsetCommit on a fresh broker (patched eosManager)',
  { timeout: 180_000 },
  () => {
    let fresh: KafkaBroker;
    const prefix = uniquePrefix('txn-offsets');

    before(async () => {
      fresh = await KafkaBroker.start();
    });

    after(async () => {
      await fresh?.destroy();
    });

    it("the first transactions' offsets commit while the group coordinator loads", async () => {
      const kafka = new Kafka({
        clientId: prefix,
        brokers: fresh.brokers.split(','),
        logLevel: logLevel.NOTHING,
      });
      const admin = kafka.admin();
      await admin.connect();
      const topic = `${prefix}-in`;
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      const producer = await transactionalProducer(kafka, `${prefix}-txn`);
      // Several groups: each is a partition of __consumer_offsets of its own, loaded on demand.
      const groups = Array.from({ length: 10 }, (_, i) => `${prefix}-group-${i}`);
      try {
        for (const [i, groupId] of groups.entries()) {
          const txn = await producer.transaction();
          await txn.send({ topic, messages: [{ value: String(i) }] });
          await txn.sendOffsets({
            consumerGroupId: groupId,
            topics: [{ topic, partitions: [{ partition: 0, offset: String(i + 1) }] }],
          });
          await txn.commit();
        }
        const committed = await Promise.all(
          groups.map(async (groupId) => {
            const res = await admin.fetchOffsets({ groupId, topics: [topic] });
            return Number(res[0]?.partitions[0]?.offset);
          }),
        );
        assert.deepEqual(
          committed,
          groups.map((_, i) => i + 1),
        );
      } finally {
        await producer.disconnect();
        await admin.disconnect();
      }
    });

    /**
     * The transaction coordinator after a broker restart: it answers GROUP_LOAD_IN_PROGRESS
     * (COORDINATOR_LOAD_IN_PROGRESS) while it loads the transaction log, or
     * NOT_COORDINATOR_FOR_GROUP / GROUP_COORDINATOR_NOT_AVAILABLE until it leads the log's
     * partition again. Unpatched kafkajs sent AddOffsetsToTxn and EndTxn once and the transaction
     * failed; the patch looks the coordinator up again and retries. Here AddOffsetsToTxn is the
     * first request after the restart (sendOffsets before any record), and every transaction
     * must commit at the first try.
     */
    it('after a broker restart, AddOffsetsToTxn and EndTxn wait for the transaction coordinator', async () => {
      const kafka = new Kafka({
        clientId: `${prefix}-restart`,
        brokers: fresh.brokers.split(','),
        logLevel: logLevel.NOTHING,
      });
      const admin = kafka.admin();
      await admin.connect();
      const topic = `${prefix}-restart`;
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      await admin.disconnect();
      const producer = await transactionalProducer(kafka, `${prefix}-restart-txn`);
      const groupId = `${prefix}-restart-group`;
      const transact = async (offset: number): Promise<void> => {
        const txn = await producer.transaction();
        try {
          await txn.sendOffsets({
            consumerGroupId: groupId,
            topics: [{ topic, partitions: [{ partition: 0, offset: String(offset) }] }],
          });
          await txn.send({ topic, messages: [{ value: String(offset) }] });
          await txn.commit();
        } catch (err) {
          await txn.abort().catch(() => undefined);
          throw err;
        }
      };
      try {
        await transact(1);
        await fresh.stop();
        await fresh.resume();
        for (let i = 2; i <= 5; i++) await transact(i);
        const check = kafka.admin();
        await check.connect();
        try {
          const res = await check.fetchOffsets({ groupId, topics: [topic] });
          assert.equal(Number(res[0]?.partitions[0]?.offset), 5);
        } finally {
          await check.disconnect();
        }
      } finally {
        await producer.disconnect();
      }
    });
  },
);
