import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync, type MqttClient } from 'mqtt';
import {
  KafkaBroker,
  Mosquitto,
  uniquePrefix,
  waitFor,
  type ServiceProcess,
} from '@ganglion/testing';
import { BrokerIngress } from './broker-harness.js';

const seqOf = (data: Record<string, unknown>): number | undefined =>
  (data['body'] as { seq?: number } | undefined)?.seq;

/**
 * ingress-mqtt as processes against Debian's mosquitto: one owner replica at a time, a
 * persistent session at QoS 1, each PUBACK sent after the bus acknowledged the event. The bus
 * is a broker of the test's own, so it can be stopped.
 */
describe('ingress-mqtt: MQTT topics bridged into the bus', { timeout: 900_000 }, () => {
  const prefix = uniquePrefix('mqtt-src');
  const topic = `${prefix}/orders`;
  let mosquitto: Mosquitto;
  let publisher: MqttClient;
  let bus: KafkaBroker;
  let ingress: BrokerIngress;

  async function publish(from: number, to: number): Promise<void> {
    const sends: Promise<unknown>[] = [];
    for (let i = from; i < to; i++) {
      sends.push(publisher.publishAsync(topic, JSON.stringify({ seq: i }), { qos: 1 }));
      if (sends.length >= 200) await Promise.all(sends.splice(0));
    }
    await Promise.all(sends);
  }

  /** The replica that owns the type now (its last ownership line is `acquired ownership`). */
  const owners = (): ServiceProcess[] =>
    ingress.replicas.filter((r) => {
      const lines = r
        .records()
        .filter((l) => l['msg'] === 'acquired ownership' || l['msg'] === 'released ownership');
      return r.running && lines.at(-1)?.['msg'] === 'acquired ownership';
    });

  before(async () => {
    mosquitto = await Mosquitto.start();
    publisher = await connectAsync(mosquitto.url.replace('tcp:', 'mqtt:'), {
      clientId: `${prefix}-publisher`,
    });
    bus = await KafkaBroker.start({ heap: '384m' });
    ingress = new BrokerIngress({
      service: 'ingress-mqtt',
      prefix,
      brokers: bus.brokers,
      seqOf,
      eventSource: {
        name: 'mqtt',
        spec: {
          mqtt: {
            orders: {
              url: mosquitto.url,
              topic,
              clientId: `${prefix}-source`,
              jsonBody: true,
              metadata: { team: 'payments' },
            },
          },
        },
      },
    });
    // A fresh broker answers UNKNOWN_TOPIC_OR_PARTITION for a moment: retried.
    await waitFor(() => ingress.start().then(() => true), {
      timeoutMs: 60_000,
      intervalMs: 1000,
      what: 'the bus topics',
    });
    await ingress.replica();
    await ingress.replica();
    await waitFor(
      () =>
        ingress.replicas.some((r) =>
          r.records().some((l) => l['msg'] === 'broker source connected'),
        ),
      { timeoutMs: 60_000, what: 'the owner subscribed' },
    );
  });

  after(async () => {
    await ingress?.stop();
    await publisher?.endAsync();
    await mosquitto?.stop();
    await bus?.destroy();
  });

  it("messages arrive with Argo's data shape; one owner at a time", async () => {
    await publish(0, 3);
    await ingress.waitForAll(0, 3, 60_000);
    const e = ingress.events.find((x) => seqOf(x.data) === 0)!;
    assert.equal(e.event.type, 'mqtt');
    assert.equal(e.event.subject, 'orders');
    assert.equal(e.data['topic'], topic);
    assert.equal(typeof e.data['messageId'], 'number');
    assert.deepEqual(e.data['body'], { seq: 0 });
    assert.deepEqual(e.data['metadata'], { team: 'payments' });
    assert.equal(owners().length, 1);
    const connected = ingress.replicas.filter((r) =>
      r.records().some((l) => l['msg'] === 'broker source connected'),
    );
    assert.equal(connected.length, 1, 'only the owner connects');
  });

  it('the owner SIGKILLed mid-stream of 5,000: every message on the bus, duplicates only with the same id', async () => {
    const [owner] = owners();
    assert.ok(owner);
    const sending = publish(10_000, 15_000);
    await waitFor(() => [...ingress.bySeq.keys()].some((s) => s >= 10_500), {
      timeoutMs: 120_000,
      what: 'the stream to start',
    });
    await owner.stop('SIGKILL');
    await sending;
    // The survivor takes over (ownership session 6 s) and resumes the persistent session.
    await ingress.waitForAll(10_000, 15_000, 300_000);
    ingress.assertOneIdPerMessage(10_000, 15_000);
    assert.equal(owners().length, 1);
  });

  it('bus down: the broker keeps the messages (no PUBACK), nothing lost when the bus is back', async () => {
    // The ownership group is on the bus's cluster too: with the bus down the owner either
    // fails to publish (and holds the PUBACKs) or loses ownership (and disconnects).
    const lines = (msg: string): number =>
      ingress.replicas.flatMap((r) => r.records()).filter((l) => l['msg'] === msg).length;
    const released = lines('released ownership');
    await bus.stop();
    await publish(20_000, 22_000);
    await waitFor(
      () => lines('event not published; retrying') > 0 || lines('released ownership') > released,
      { timeoutMs: 120_000, what: 'the owner to fail publishing, or to lose ownership' },
    );
    await bus.resume();
    await ingress.waitForAll(20_000, 22_000, 300_000);
    ingress.assertOneIdPerMessage(20_000, 22_000);
  });
});
