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
 * ingress-emitter as processes. The emitter server is not served by the Go module proxy here
 * (github.com/emitter-io/emitter: 403 for its version list, `@master` and tagged versions), so
 * the peer is Debian's mosquitto standing in for emitter's MQTT side: the source subscribes to
 * emitter's channel topic `<key>/<channel>/` and the test publishes to it as emitter's clients
 * do. What this verifies: the MQTT session, topic format, data shape, owner handover, PUBACK
 * after the bus; not emitter's key checks or its delivery semantics ("not verified against an
 * emitter server", docs page and reconciler condition).
 */
describe(
  'ingress-emitter: an emitter channel (over MQTT) bridged into the bus',
  { timeout: 900_000 },
  () => {
    const prefix = uniquePrefix('emitter-src');
    const key = 'XYZ-channel-key_123';
    const channelName = `${prefix}/orders`;
    const topic = `${key}/${channelName}/`;
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
        service: 'ingress-emitter',
        prefix,
        brokers: bus.brokers,
        seqOf,
        env: { GANGLION_SECRET_EMITTER_USER: 'reader', GANGLION_SECRET_EMITTER_PASSWORD: 'secret' },
        eventSource: {
          name: 'emitter',
          spec: {
            emitter: {
              orders: {
                broker: mosquitto.url,
                channelKey: key,
                // Trailing and leading slashes are trimmed, as emitter's clients do.
                channelName: `/${channelName}/`,
                username: { name: 'emitter', key: 'user' },
                password: { name: 'emitter', key: 'password' },
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
      assert.equal(e.event.type, 'emitter');
      assert.equal(e.event.source, 'emitter');
      assert.equal(e.event.subject, 'orders');
      assert.deepEqual(e.data, { topic, body: { seq: 0 }, metadata: { team: 'payments' } });
      assert.equal(owners().length, 1);
      const connected = ingress.replicas.filter((r) =>
        r.records().some((l) => l['msg'] === 'broker source connected'),
      );
      assert.equal(connected.length, 1, 'only the owner connects');
    });

    it('the owner SIGKILLed mid-stream of 5,000: the standby takes over the session, every message on the bus, duplicates only with the same id', async () => {
      const [owner] = owners();
      assert.ok(owner);
      const sending = publish(10_000, 15_000);
      await waitFor(() => [...ingress.bySeq.keys()].some((s) => s >= 10_500), {
        timeoutMs: 120_000,
        what: 'the stream to start',
      });
      await owner.stop('SIGKILL');
      await sending;
      await ingress.waitForAll(10_000, 15_000, 300_000);
      ingress.assertOneIdPerMessage(10_000, 15_000);
      assert.equal(owners().length, 1);
    });

    it('bus down: no PUBACK, the broker keeps the messages, nothing lost when the bus is back', async () => {
      const failures = (): number =>
        ingress.replicas
          .filter((r) => r.running)
          .flatMap((r) => r.records())
          .filter(
            (l) =>
              l['msg'] === 'event not published; retrying' || l['msg'] === 'released ownership',
          ).length;
      const already = failures();
      await bus.stop();
      await publish(20_000, 22_000);
      // The owner fails to publish; here the bus is also the installation's cluster (the
      // ownership group's), so it may lose ownership too and close its session without PUBACKs.
      await waitFor(() => failures() > already, {
        timeoutMs: 180_000,
        what: 'the ingress to fail publishing (or lose ownership) while the bus is down',
      });
      await bus.resume();
      await ingress.waitForAll(20_000, 22_000, 300_000);
      ingress.assertOneIdPerMessage(20_000, 22_000);
    });
  },
);
