/**
 * The broker kit's acknowledgement contract against a real Kafka broker: a message is
 * acknowledged at its source only once it and every earlier message are on the bus, whatever
 * order the produce requests (several in flight) complete in; a message the bus does not take
 * is never acknowledged, and holds back every later one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { ensureTopics, type BusProducers } from '@ganglion/eventbus';
import { createLogger, type Logger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { BrokerEventsRunner } from './broker-events.runner.js';
import type { BrokerContext, BrokerSourceType, CommonBrokerConfig } from './broker-source.js';
import type { OwnedHost } from './owned-source.js';
import { BusFixture, eventSource, MemoryStore } from './push-harness.test-support.js';

/** The test's own source: delivers `payloads` in order once connected, records acknowledgements. */
function listSource(
  payloads: string[],
  answer: () => unknown = () => undefined,
): {
  type: BrokerSourceType<CommonBrokerConfig>;
  acked: number[];
  delivered: () => number;
} {
  const acked: number[] = [];
  let delivered = 0;
  const type: BrokerSourceType<CommonBrokerConfig> = {
    type: 'list',
    connect(ctx: BrokerContext<CommonBrokerConfig>) {
      void (async () => {
        for (let i = 0; i < payloads.length; i++) {
          await ctx.deliver({
            naturalId: String(i),
            data: { seq: i, body: payloads[i] },
            bytes: payloads[i]!.length,
            // Typed `() => void`, as a source's may be, whatever it returns.
            ack: (): void => {
              acked.push(i);
              return answer() as void;
            },
          });
          delivered++;
        }
      })();
      return Promise.resolve({ close: () => Promise.resolve() });
    },
  };
  return { type, acked, delivered: () => delivered };
}

describe('broker kit: acknowledgement after the bus, contiguous prefix only', () => {
  let brokers: string;
  const fixtures: BusFixture[] = [];
  const sets: BusProducers[] = [];

  before(async () => {
    brokers = await kafkaBrokers();
  });

  after(async () => {
    await Promise.all(sets.map((s) => s.close()));
    await Promise.all(fixtures.map((f) => f.stop()));
  });

  /** A runner of `type` publishing to a fresh bus topic with `maxInFlight` produce requests at once. */
  async function start(
    name: string,
    type: BrokerSourceType<CommonBrokerConfig>,
    maxInFlight: number,
    topicConfig: { name: string; value: string }[] = [],
    logger?: Logger,
  ): Promise<{
    runner: BrokerEventsRunner<CommonBrokerConfig>;
    bus: BusFixture;
    producers: BusProducers;
  }> {
    const bus = new BusFixture(brokers, `${uniquePrefix(name)}-bus`);
    fixtures.push(bus);
    const admin = bus.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [
      { topic: bus.topic, numPartitions: 1, replicationFactor: 1, configEntries: topicConfig },
    ]);
    await admin.disconnect();
    await bus.start();
    const producers = bus.clients.producers({ maxInFlight, maxBatch: 50 });
    sets.push(producers);
    const store = new MemoryStore();
    store.put(bus.bus());
    const host: OwnedHost = {
      store,
      producers,
      logger: logger ?? bus.logger,
      stateTopic: `${bus.topic}-state`,
      transactionalId: bus.topic,
    };
    const runner = new BrokerEventsRunner(host, type);
    store.put(eventSource('acks', { list: { e: {} } }));
    await runner.start();
    return { runner, bus, producers };
  }

  it('acknowledges every message, in delivery order, with several produce requests in flight', async () => {
    const n = 2_000;
    const src = listSource(Array.from({ length: n }, (_, i) => `m${i}`));
    const { runner, bus } = await start('acks-order', src.type, 4);
    try {
      await waitFor(() => src.acked.length === n, {
        timeoutMs: 120_000,
        what: `${n} acknowledgements`,
      });
      assert.deepEqual(
        src.acked,
        Array.from({ length: n }, (_, i) => i),
      );
      // Acknowledged means on the bus: every one of them is there.
      await waitFor(() => bus.from('acks').length >= n, { timeoutMs: 60_000, what: 'events' });
      const seqs = new Set(bus.from('acks').map((r) => (r.data as { seq: number }).seq));
      assert.equal(seqs.size, n);
      // In the EventSource's namespace: a Sensor of another namespace does not match them.
      assert.equal(bus.from('acks')[0]!.event['namespace'], 'default');
    } finally {
      await runner.stop();
    }
  });

  it('does not acknowledge a message the bus refuses, nor any later one already on the bus', async () => {
    // The topic takes records up to 2 KiB: message 2 is refused by the broker on every attempt.
    const payloads = ['a', 'b', 'x'.repeat(8_192), 'd', 'e'];
    const src = listSource(payloads);
    const { runner, bus, producers } = await start('acks-refused', src.type, 2, [
      { name: 'max.message.bytes', value: '2048' },
    ]);
    try {
      // Messages 3 and 4 are on the bus after message 2 failed, and the producer holds at most
      // message 2 (retried): their sends have resolved, and the kit's continuations, run as
      // microtasks right after, are done before this timer-driven poll sees it.
      const producer = producers.forBus(bus.bus());
      await waitFor(() => bus.from('acks').length >= 4 && producer.depth <= 1, {
        timeoutMs: 60_000,
        what: 'messages 0, 1, 3 and 4 on the bus',
      });
      await tick();
      assert.deepEqual(
        bus
          .from('acks')
          .map((r) => (r.data as { seq: number }).seq)
          .sort(),
        [0, 1, 3, 4],
      );
      assert.deepEqual(src.acked, [0, 1], 'only the prefix before the refused message');
    } finally {
      await runner.stop();
    }
    // Stopping does not acknowledge what is not on the bus (the source redelivers it).
    assert.deepEqual(src.acked, [0, 1]);
    assert.equal(src.delivered(), payloads.length);
  });

  it('awaits an acknowledgement only when it returns a promise, and logs the one that fails', async () => {
    const warnings: string[] = [];
    const logger = createLogger('test', {
      level: 'warn',
      write: (line) => {
        if (line.includes('acknowledgement at the source failed')) warnings.push(line);
      },
    });
    // The kafka source's acknowledgement returns its offsets map.
    const offsets = new Map<number, string>();
    const plain = listSource(['a', 'b', 'c'], () => offsets.set(0, 'x'));
    const first = await start('acks-plain', plain.type, 1, [], logger);
    try {
      await waitFor(() => plain.acked.length === 3, { timeoutMs: 60_000, what: 'acks' });
    } finally {
      await first.runner.stop();
    }
    assert.deepEqual(warnings, [], 'a non-promise answer is not a failed acknowledgement');
    const failing = listSource(['a'], () => Promise.reject(new Error('connection closed')));
    const second = await start('acks-failing', failing.type, 1, [], logger);
    try {
      await waitFor(() => warnings.length === 1, { timeoutMs: 60_000, what: 'the warning' });
      assert.match(warnings[0]!, /connection closed/);
    } finally {
      await second.runner.stop();
    }
  });
});
