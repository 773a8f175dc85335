import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCloudEvent, eventData } from '@ganglion/eventbus';
import {
  kafkaBrokers,
  OwnedReplicas,
  ServiceProcess,
  uniquePrefix,
  waitFor,
} from '@ganglion/testing';
import { ingressTopics, type BusCollector } from './harness.js';

interface Tick {
  id: string;
  time: number;
  eventTime: string;
}

/**
 * Two replicas of ingress-calendar as separate processes on a real broker: one runs the
 * calendar at a time (consumer-group assignment); every tick reaches the bus exactly once,
 * also across the owner being killed (the survivor catches up from the transactional state).
 */
describe('ingress-calendar: two replicas, each tick exactly once', { timeout: 180_000 }, () => {
  let brokers: string;
  const prefix = uniquePrefix('cal');
  const busTopic = `${prefix}-bus`;
  const resourcesTopic = `${prefix}-resources`;
  const ticks: Tick[] = [];
  let replicas: OwnedReplicas;
  let consumer: BusCollector;

  before(async () => {
    brokers = await kafkaBrokers();
    consumer = await ingressTopics({
      brokers,
      prefix,
      resourcesTopic,
      busTopic,
      busPartitions: 1,
      eventSource: {
        name: 'calendar',
        spec: {
          calendar: {
            every: {
              interval: '1s',
              persistence: { catchup: { enabled: true } },
              metadata: { team: 'sre' },
            },
          },
        },
      },
      onEvent: (message) => {
        const event = decodeCloudEvent(message);
        const data = eventData(event) as { eventTime: string; metadata: unknown };
        assert.equal(event.type, 'calendar');
        assert.deepEqual(data.metadata, { team: 'sre' });
        ticks.push({ id: event.id, time: Date.parse(event.time!), eventTime: data.eventTime });
      },
    });
    replicas = await new OwnedReplicas('ingress-calendar', prefix, {
      KAFKA_BROKERS: brokers,
      GANGLION_RESOURCES_TOPIC: resourcesTopic,
      GANGLION_HOST: '127.0.0.1',
    }).start();
  });

  after(async () => {
    await replicas?.stop();
    await consumer?.disconnect();
  });

  const owner = (): ServiceProcess | undefined => replicas.owner();

  function assertExactlyOnce(): void {
    const times = ticks.map((t) => t.time);
    assert.equal(new Set(ticks.map((t) => t.id)).size, ticks.length, 'duplicate event ids');
    assert.equal(new Set(times).size, times.length, 'a tick was published twice');
    const sorted = [...times].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++)
      assert.equal(
        sorted[i]! - sorted[i - 1]!,
        1000,
        `gap or overlap between ticks ${new Date(sorted[i - 1]!).toISOString()} and ${new Date(sorted[i]!).toISOString()}`,
      );
  }

  it("one replica owns the calendar and ticks every second, aligned, with Argo's eventTime", async () => {
    await waitFor(() => ticks.length >= 3, { timeoutMs: 30_000, what: 'three ticks' });
    // Right after start the second replica's join may still be rebalancing the group (no owner for a moment).
    await waitFor(() => owner() !== undefined, { timeoutMs: 30_000, what: 'exactly one owner' });
    for (const t of ticks) assert.equal(t.time % 1000, 0);
    assert.match(ticks[0]!.eventTime, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0000 UTC$/);
    assertExactlyOnce();
  });

  it('hands over when the owner is killed: the survivor catches up, no tick lost or repeated', async () => {
    const first = owner()!;
    await first.stop('SIGKILL');
    const killedAt = Date.now();
    const survivor = replicas.other(first);
    await waitFor(() => owner() === survivor, {
      timeoutMs: 60_000,
      what: 'the survivor to own the calendar',
    });
    await waitFor(() => ticks.some((t) => t.time >= killedAt + 2000), {
      timeoutMs: 30_000,
      what: 'ticks after the handover',
    });
    assertExactlyOnce();
    assert.ok(
      ticks.some((t) => t.time > killedAt - 1000 && t.time < killedAt + 5000),
      'ticks during the handover were caught up',
    );
  });
});
