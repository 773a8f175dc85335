import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaBroker, uniquePrefix } from '@ganglion/testing';
import { TRANSACTION_RETRY } from './client.js';

/**
 * The kafkajs patch (patches/kafkajs@2.2.4.patch, eosManager) retries TxnOffsetCommit when the
 * group coordinator is still loading or has moved. kafkajs listed those errors under the Java
 * client's names (COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR), which its own error table
 * calls GROUP_LOAD_IN_PROGRESS and NOT_COORDINATOR_FOR_GROUP: nothing matched and the commit
 * failed at once. A broker's first transactions meet exactly that (its __consumer_offsets
 * partitions are created and loaded by the first FindCoordinator), so this runs on a broker of
 * its own, started for it.
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
      const producer = kafka.producer({
        transactionalId: `${prefix}-txn`,
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { ...TRANSACTION_RETRY },
      });
      await producer.connect();
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
  },
);
