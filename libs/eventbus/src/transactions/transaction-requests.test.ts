import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { createLogger } from '@ganglion/telemetry';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { countRequests, kafkaBrokers, KafkaBroker, uniquePrefix, waitFor } from '@ganglion/testing';
import { createKafka, TRANSACTION_RETRY } from '../client/client.js';
import { TopicReader } from '../readers/topic-reader.js';

const logger = createLogger('test', { level: 'error' });

/**
 * What a transaction costs the broker. kafkajs 2.2.4 looked up the coordinator with a
 * FindCoordinator request before every AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and
 * EndTxn, and answered the CONCURRENT_TRANSACTIONS that follows a back-to-back transaction with a
 * metadata refresh; the repository's patch (patches/kafkajs@2.2.4.patch) caches the coordinators
 * and retries in place. These tests count the requests (kafkajs's own request events) and fail
 * without the patch.
 */
describe(
  'transactions send only the requests they need (patched kafkajs, real broker)',
  { timeout: 180_000 },
  () => {
    let kafka: Kafka;
    let admin: Admin;
    const producers: Producer[] = [];
    const prefix = uniquePrefix('txnreq');

    before(async () => {
      kafka = createKafka({ brokers: [await kafkaBrokers()], clientId: prefix, logger });
      admin = kafka.admin();
      await admin.connect();
    });

    after(async () => {
      for (const p of producers) await p.disconnect().catch(() => undefined);
      await admin?.disconnect();
    });

    async function transactional(
      client: Kafka,
      id: string,
    ): Promise<{ producer: Producer; requests: Map<string, number> }> {
      const producer = client.producer({
        transactionalId: `${prefix}-${id}`,
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { ...TRANSACTION_RETRY },
      });
      const requests = new Map<string, number>();
      producer.on(
        producer.events.REQUEST,
        (e: { payload: { apiName: string } }) =>
          void requests.set(e.payload.apiName, (requests.get(e.payload.apiName) ?? 0) + 1),
      );
      producers.push(producer);
      await producer.connect();
      return { producer, requests };
    }

    async function topicWith(name: string): Promise<string> {
      const topic = `${prefix}-${name}`;
      await admin.createTopics({
        topics: [{ topic, numPartitions: 2, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      return topic;
    }

    async function readCount(client: Kafka, topic: string, n: number): Promise<string[]> {
      const seen: string[] = [];
      const reader = new TopicReader({
        kafka: client,
        topics: [topic],
        logger,
        groupPrefix: `${prefix}-reader`,
        onRecord: (_t, _p, m) => void seen.push(m.value?.toString('utf8') ?? ''),
      });
      await reader.start();
      try {
        await waitFor(() => seen.length >= n, {
          timeoutMs: 30_000,
          what: `${n} records read back`,
        });
      } finally {
        await reader.stop();
      }
      return seen;
    }

    it('back-to-back transactions with offsets: a few coordinator lookups in all, no metadata refresh per transaction', async () => {
      const topic = await topicWith('out');
      const { producer, requests } = await transactional(kafka, 'b2b');
      const base = new Map(requests);
      const N = 40;
      for (let i = 0; i < N; i++) {
        const txn = await producer.transaction();
        await txn.send({ topic, messages: [{ key: `k${i}`, value: `v${i}` }], acks: -1 });
        await txn.sendOffsets({
          consumerGroupId: `${prefix}-group`,
          topics: [{ topic, partitions: [{ partition: 0, offset: String(i + 1) }] }],
        });
        await txn.commit();
      }
      const used = (api: string): number => (requests.get(api) ?? 0) - (base.get(api) ?? 0);
      assert.equal(used('EndTxn'), N);
      assert.equal(used('TxnOffsetCommit'), N);
      // Unpatched: 4 lookups per transaction (160 here) and a metadata refresh per CONCURRENT_TRANSACTIONS.
      assert.ok(
        used('GroupCoordinator') <= 6,
        `FindCoordinator sent ${used('GroupCoordinator')} times for ${N} transactions`,
      );
      assert.ok(
        used('Metadata') <= 2,
        `Metadata sent ${used('Metadata')} times for ${N} transactions`,
      );
      // Retried in place: AddPartitionsToTxn may be sent more than once per transaction, never failing it.
      assert.ok(used('AddPartitionsToTxn') >= N);
      const seen = await readCount(kafka, topic, N);
      assert.deepEqual([...seen].sort(), Array.from({ length: N }, (_, i) => `v${i}`).sort());
    });

    it('a cached coordinator does not outlive its connection: transactions go on after a broker restart', async () => {
      // Its own broker, restarted under a producer whose coordinator is cached (kafkajs may
      // reconnect the cached broker or the cache may look it up again; either way nothing hangs).
      // The broker's request log shows the transactions from its side.
      const broker = await KafkaBroker.start({
        requestLog: join(tmpdir(), `${prefix}-requests.log`),
      });
      try {
        const own = createKafka({
          brokers: [broker.brokers],
          clientId: `${prefix}-restart`,
          logger,
        });
        const ownAdmin = own.admin();
        await ownAdmin.connect();
        const topic = `${prefix}-restart`;
        await ownAdmin.createTopics({
          topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
          waitForLeaders: true,
        });
        await ownAdmin.disconnect();
        const { producer, requests } = await transactional(own, 'restart');
        const commit = async (v: string): Promise<void> => {
          const txn = await producer.transaction();
          try {
            await txn.send({ topic, messages: [{ value: v }], acks: -1 });
            await txn.commit();
          } catch (err) {
            await txn.abort().catch(() => undefined);
            throw err;
          }
        };
        await commit('before');
        await broker.stop();
        await broker.resume();
        // The first attempts may fail while the broker loads its transaction state; none may hang.
        await waitFor(
          async () => {
            await commit('after');
            return true;
          },
          { timeoutMs: 60_000, what: 'a transaction committed after the restart' },
        );
        const seen = await readCount(own, topic, 2);
        assert.ok(
          seen.includes('before') && seen.includes('after'),
          `read ${JSON.stringify(seen)}`,
        );
        const logged = countRequests(
          readFileSync(join(tmpdir(), `${prefix}-requests.log`), 'utf8'),
        );
        const client = `${prefix}-restart`;
        assert.ok(
          (logged.get(`END_TXN ${client}`) ?? 0) >= 2,
          `END_TXN requests logged: ${JSON.stringify([...logged])}`,
        );
        assert.ok((requests.get('EndTxn') ?? 0) >= 2);
        await producer.disconnect();
      } finally {
        await broker.destroy();
        rmSync(join(tmpdir(), `${prefix}-requests.log`), { force: true });
      }
    });
  },
);
