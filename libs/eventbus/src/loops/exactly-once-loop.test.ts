import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { createKafka, TRANSACTION_RETRY } from '../client/client.js';
import {
  ExactlyOnceLoop,
  type TransactionInfo,
  type TransactionScope,
} from './exactly-once-loop.js';

const logger = createLogger('test', { level: 'error' });

describe('ExactlyOnceLoop (real broker)', { timeout: 120_000 }, () => {
  let kafka: Kafka;
  let admin: Admin;
  const prefix = uniquePrefix('eos');

  before(async () => {
    kafka = createKafka({ brokers: [await kafkaBrokers()], clientId: prefix, logger });
    admin = kafka.admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect();
  });

  async function committed(groupId: string, topic: string): Promise<number> {
    const res = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Number(res[0]?.partitions[0]?.offset ?? -1);
  }

  /**
   * The loop reads the group's committed offset right after `InitProducerId` fenced the
   * previous owner, with a plain OffsetFetch (kafkajs has no `require_stable`). That read is
   * exact because the broker completes a transaction (and answers `InitProducerId` for its id)
   * only after the markers are written and the group coordinator has materialised the offsets
   * (Kafka ≥ 3.7.2 / 3.8.1 / 3.9.0, KAFKA-17507). This pins that down: it fails on a broker
   * where the read can still return the offset from before the fenced owner's last commit.
   */
  it('after a new owner fences the transactional id, the committed offset read is the last committed one', async () => {
    const topic = `${prefix}-fence`;
    const groupId = `${prefix}-fence-group`;
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    const producer = (): Producer =>
      kafka.producer({
        transactionalId: `${prefix}-fence-txn`,
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { ...TRANSACTION_RETRY },
      });
    let owner = producer();
    await owner.connect();
    const stale: string[] = [];
    let last = 0;
    try {
      for (let i = 1; i <= 40; i++) {
        const txn = await owner.transaction();
        await txn.send({ topic, messages: [{ value: String(i) }] });
        await txn.sendOffsets({
          consumerGroupId: groupId,
          topics: [{ topic, partitions: [{ partition: 0, offset: String(i) }] }],
        });
        // Every other round the commit is only sent, not awaited, when the new owner fences:
        // it completes, or the fence aborts it, and the read must show which.
        const outcome =
          i % 2
            ? txn.commit().then(
                () => true,
                () => false,
              )
            : await txn.commit().then(() => Promise.resolve(true));
        const next = producer();
        await next.connect();
        await (await next.transaction()).abort(); // InitProducerId: fences the owner
        const read = await committed(groupId, topic);
        if (await outcome) last = i;
        if (read !== last) stale.push(`round ${i}: read ${read}, committed ${last}`);
        await owner.disconnect();
        owner = next;
      }
    } finally {
      await owner.disconnect();
    }
    assert.deepEqual(stale, []);
  });

  it('replica scope needs an instanceId: no host-name default in the loop', () => {
    const base = {
      kafka,
      groupId: `${prefix}-id-group`,
      topics: [`${prefix}-id`],
      logger,
      processor: { process: () => [] },
    };
    assert.throws(
      // @ts-expect-error the type requires an instanceId in replica scope
      () => new ExactlyOnceLoop({ ...base, transactionScope: 'replica' }),
      /instanceId/,
    );
    assert.throws(
      () => new ExactlyOnceLoop({ ...base, transactionScope: 'replica', instanceId: '' }),
      /instanceId/,
    );
    // Partition scope needs none.
    assert.ok(new ExactlyOnceLoop(base));
  });

  const scopes: TransactionScope[] = ['partition', 'replica'];
  for (const scope of scopes) {
    it(`${scope} scope: a batch with no output records still commits its offsets, back to back, without failed transactions`, async () => {
      const topic = `${prefix}-${scope}-empty`;
      const groupId = `${prefix}-${scope}-empty-group`;
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      const infos: TransactionInfo[] = [];
      const warnings: string[] = [];
      const loopLogger = createLogger('test', {
        level: 'warn',
        write: (line) => void warnings.push(line),
      });
      const loop = new ExactlyOnceLoop({
        kafka,
        groupId,
        topics: [topic],
        transactionScope: scope,
        instanceId: `${prefix}-replica`,
        logger: loopLogger,
        processor: { process: () => [] },
        onTransaction: (i) => void infos.push(i),
        maxWaitMs: 20,
      });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        await loop.start();
        await loop.joined;
        // A steady trickle while transactions run, so that batches are small and back to back.
        let total = 0;
        const deadline = Date.now() + 30_000;
        while (infos.length < 40 && Date.now() < deadline)
          await producer.send({ topic, messages: [{ value: String(total++) }] });
        await waitFor(async () => (await committed(groupId, topic)) >= total, {
          timeoutMs: 60_000,
          what: `offset ${total} committed`,
        });
        const failed = infos.filter((i) => !i.ok);
        assert.ok(infos.length > 1, 'several transactions');
        assert.deepEqual(
          failed.map((f) => String(f.error)),
          [],
        );
        // The post-fence offset check read with require_stable (no fallback to a plain read).
        assert.deepEqual(warnings, []);
      } finally {
        await producer.disconnect();
        await loop.stop();
      }
    });

    /**
     * A restore can wait long (a join-state barrier after the broker came back waits up to a
     * minute). A SIGTERM then must not wait for it: kafkajs's consumer.stop() waits for the batch
     * in flight, and that batch waited for the opening; so did closing the slots. When the
     * abandoned opening ends, it writes through `ctx.produce` (as the sensor's barrier does):
     * no producer may be left open by it (in `replica` scope it opened the shared producer anew
     * after stop() had closed it, and nothing closed that one).
     */
    it(`${scope} scope: stop() does not wait for a partition still opening (its restore hangs)`, async () => {
      const topic = `${prefix}-${scope}-opening`;
      const groupId = `${prefix}-${scope}-opening-group`;
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      await admin.createTopics({
        topics: [{ topic: `${topic}-out`, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      // The loop's own client: every producer it creates, while connected.
      const loopKafka = createKafka({
        brokers: [await kafkaBrokers()],
        clientId: `${prefix}-${scope}-opening`,
        logger,
      });
      const connected = new Set<Producer>();
      const producerOf = loopKafka.producer.bind(loopKafka);
      loopKafka.producer = (config) => {
        const p = producerOf(config);
        p.on(p.events.CONNECT, () => void connected.add(p));
        p.on(p.events.DISCONNECT, () => void connected.delete(p));
        return p;
      };
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let opening = 0;
      let closed = 0;
      let produced: 'written' | 'refused' | undefined;
      const loop = new ExactlyOnceLoop({
        kafka: loopKafka,
        groupId,
        topics: [topic],
        transactionScope: scope,
        instanceId: `${prefix}-replica`,
        logger,
        maxWaitMs: 20,
        processor: {
          open: async (ctx) => {
            opening++;
            await held;
            try {
              await ctx.produce([{ topic: `${topic}-out`, key: 'barrier', value: 'after stop' }]);
              produced = 'written';
            } catch (err) {
              produced = 'refused';
              throw err;
            }
          },
          process: () => [],
          close: () => void closed++,
        },
      });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        await loop.start();
        await loop.joined;
        await producer.send({ topic, messages: [{ value: 'waits for the opening' }] });
        await waitFor(() => opening > 0, {
          timeoutMs: 30_000,
          what: 'the partition to start opening',
        });
        let stopped = false;
        const stopping = loop.stop().then(() => (stopped = true));
        // Stopped while the restore still hangs (it is released only afterwards).
        await waitFor(() => stopped, {
          timeoutMs: 20_000,
          what: 'stop() to return while the partition is still opening',
        });
        assert.equal(closed, 0, 'the opening has not finished yet');
        release();
        await stopping;
        // Once the hung opening ends, its state is dropped (close) and its producer closed.
        await waitFor(() => closed > 0, {
          timeoutMs: 10_000,
          what: 'the abandoned opening to be closed',
        });
        assert.ok(produced, 'the abandoned opening called ctx.produce');
        await waitFor(() => connected.size === 0, {
          timeoutMs: 10_000,
          what: 'no producer of the loop left connected',
        });
        // In replica scope its transaction would need the shared producer, closed by stop().
        if (scope === 'replica') assert.equal(produced, 'refused');
      } finally {
        release();
        await producer.disconnect();
        await loop.stop();
      }
    });
  }
});
