import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { createKafka } from '../client/client.js';
import { PipelinedLoop } from './pipelined-loop.js';
import { ensureTopics } from '../client/topics.js';
import type { Kafka } from 'kafkajs';

/** Out-of-order completion, in-order commit, on a real broker. */
describe('PipelinedLoop', { timeout: 120_000 }, () => {
  const logger = createLogger('pipelined-loop-test', { level: 'error' });
  const topic = `${uniquePrefix('pipelined')}-in`;
  const groupId = `${topic}-group`;
  let kafka: Kafka;
  let loop: PipelinedLoop | undefined;

  const committed = async (): Promise<bigint> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return BigInt(t!.partitions[0]!.offset);
    } finally {
      await admin.disconnect();
    }
  };

  before(async () => {
    kafka = createKafka({
      brokers: (await kafkaBrokers()).split(','),
      clientId: 'pipelined-loop-test',
      logger,
    });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]);
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: `m${i}` })),
    });
    await producer.disconnect();
  });
  after(async () => {
    await loop?.stop();
  });

  it('admits messages without waiting for their effects, and commits only the finished prefix', async () => {
    const finish = new Map<string, () => void>();
    let admitting = 0;
    let releaseAdmission!: () => void;
    const admissionGate = new Promise<void>((r) => (releaseAdmission = r));
    loop = new PipelinedLoop({
      kafka,
      groupId,
      topics: [topic],
      logger,
      commitIntervalMs: 50,
      admit: async (message) => {
        const value = message.value!.toString();
        admitting++;
        // The fifth message waits for room (backpressure) until the test lets it in.
        if (value === 'm4') await admissionGate;
        return { done: new Promise<void>((r) => finish.set(value, r)) };
      },
    });
    await loop.start();
    await waitFor(() => finish.size === 4 && admitting === 5, {
      timeoutMs: 30_000,
      what: 'four messages admitted, the fifth waiting',
    });
    // m1..m3 finish first; m0 is still running: nothing may be committed yet.
    for (const v of ['m1', 'm2', 'm3']) finish.get(v)!();
    await loop.commit();
    assert.equal(loop.inFlight, 4);
    assert.ok((await committed()) < 1n, 'nothing committed past the unfinished m0');
    finish.get('m0')!();
    await waitFor(async () => (await committed()) === 4n, {
      timeoutMs: 10_000,
      what: 'commit of m0..m3',
    });
    releaseAdmission();
    await waitFor(() => finish.has('m4'), { what: 'm4 admitted' });
    finish.get('m4')!();
    await waitFor(async () => (await committed()) === 5n, {
      timeoutMs: 10_000,
      what: 'commit of m4',
    });
  });
});
