import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  connect,
  headers as natsHeaders,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import { KafkaBroker, NatsServer, uniquePrefix, waitFor } from '@ganglion/testing';
import { BrokerIngress } from './broker-harness.js';

const seqOf = (data: Record<string, unknown>): number | undefined =>
  (data['body'] as { seq?: number } | undefined)?.seq;

const naturalId = (es: string, event: string, natural: string): string =>
  createHash('sha256').update(`default\0${es}\0${event}\0${natural}`).digest('hex').slice(0, 32);

/**
 * ingress-nats with Ganglion's `jetStream` extension, as processes against Debian's nats-server
 * (`-js`): a durable pull consumer shared by the replicas, each message acknowledged only after
 * the bus took its event, ids from the stream sequence. The bus is a Kafka broker of the test's
 * own, so it can be stopped.
 */
describe(
  'ingress-nats with jetStream: a durable consumer bridged into the bus',
  {
    timeout: 900_000,
  },
  () => {
    const prefix = uniquePrefix('natsjs-src');
    const subject = `${prefix}.orders`;
    const stream = `${prefix}-orders`.replace(/\./g, '_');
    const durable = `${prefix}-ingress`.replace(/\./g, '_');
    let server: NatsServer;
    let bus: KafkaBroker;
    let nc: NatsConnection;
    let js: JetStreamClient;
    let jsm: JetStreamManager;
    let ingress: BrokerIngress;

    async function publish(from: number, to: number): Promise<void> {
      for (let i = from; i < to; i += 500) {
        const acks = [];
        for (let j = i; j < Math.min(to, i + 500); j++)
          acks.push(js.publish(subject, JSON.stringify({ seq: j })));
        await Promise.all(acks);
      }
    }

    /** The durable consumer's acknowledgement floor (stream sequence) and what is outstanding. */
    async function consumerState(): Promise<{
      ackFloor: number;
      pending: number;
      unacked: number;
    }> {
      const info = await jsm.consumers.info(stream, durable);
      return {
        ackFloor: info.ack_floor.stream_seq,
        pending: info.num_pending,
        unacked: info.num_ack_pending,
      };
    }

    async function lastSeq(): Promise<number> {
      return (await jsm.streams.info(stream)).state.last_seq;
    }

    before(async () => {
      server = await NatsServer.start();
      bus = await KafkaBroker.start({ heap: '384m' });
      nc = await connect({ servers: server.url });
      jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: stream, subjects: [subject] });
      js = nc.jetstream();
      ingress = await new BrokerIngress({
        service: 'ingress-nats',
        prefix,
        brokers: bus.brokers,
        seqOf,
        eventSource: {
          name: 'natsjs',
          spec: {
            nats: {
              orders: {
                url: server.url,
                subject,
                jsonBody: true,
                metadata: { team: 'payments' },
                jetStream: { stream, durable },
              },
            },
          },
        },
      }).start();
      await ingress.replica();
      await ingress.replica();
      await waitFor(
        () =>
          ingress.replicas.every((r) =>
            r.records().some((l) => l['msg'] === 'broker source connected'),
          ),
        { timeoutMs: 60_000, what: 'both replicas pulling from the durable consumer' },
      );
    });

    after(async () => {
      await ingress?.stop();
      await nc?.close();
      await server?.stop();
      await bus?.destroy();
    });

    it("messages arrive with Argo's data shape, ids from the stream sequence", async () => {
      const h = natsHeaders();
      h.set('ce-id', 'order-7');
      h.set('ce-specversion', '1.0');
      h.set('ce-source', 'shop');
      h.set('ce-type', 'order.created');
      const first = await js.publish(subject, JSON.stringify({ seq: 0 }));
      await js.publish(subject, JSON.stringify({ seq: 1 }), { headers: h });
      await ingress.waitForAll(0, 2, 120_000);
      const plain = ingress.events.find((e) => seqOf(e.data) === 0)!;
      assert.equal(plain.event.type, 'nats');
      assert.equal(plain.event.subject, 'orders');
      assert.deepEqual(plain.data, {
        subject,
        header: null,
        body: { seq: 0 },
        metadata: { team: 'payments' },
      });
      assert.equal(plain.id, naturalId('natsjs', 'orders', `${stream}:${first.seq}`));
      const ce = ingress.events.find((e) => seqOf(e.data) === 1)!;
      assert.equal(ce.id, 'order-7');
      assert.equal(ce.event['originsource'], 'shop');
      // Both acknowledged once on the bus.
      await waitFor(async () => (await consumerState()).ackFloor === (await lastSeq()), {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: 'both messages acknowledged',
      });
    });

    it('two replicas on one durable consumer: 2,000 messages, each on the bus once', async () => {
      await publish(100, 2100);
      await ingress.waitForAll(100, 2100);
      assert.equal(ingress.duplicates(100, 2100), 0, 'a message reached the bus twice');
    });

    it('a replica SIGKILLed mid-stream of 5,000: every message on the bus, duplicates only with the same id', async () => {
      const victim = ingress.replicas[0]!;
      const sending = publish(10_000, 15_000);
      await waitFor(() => [...ingress.bySeq.keys()].filter((s) => s >= 10_000).length > 1000, {
        timeoutMs: 120_000,
        what: 'the stream to start',
      });
      await victim.stop('SIGKILL');
      await sending;
      // What the victim took and did not acknowledge is redelivered after the ack wait (30 s).
      await ingress.waitForAll(10_000, 15_000, 300_000);
      ingress.assertOneIdPerMessage(10_000, 15_000);
      await ingress.replica();
    });

    it('bus down: nothing is acknowledged, and everything arrives once it is back', async () => {
      await waitFor(async () => (await consumerState()).ackFloor === (await lastSeq()), {
        timeoutMs: 120_000,
        intervalMs: 500,
        what: 'every message so far acknowledged',
      });
      const floor = (await consumerState()).ackFloor;
      await bus.stop();
      await publish(20_000, 23_000);
      const failures = (): number =>
        ingress.replicas
          .filter((r) => r.running)
          .flatMap((r) => r.records())
          .filter((l) => l['msg'] === 'event not published; retrying').length;
      const already = failures();
      await waitFor(() => failures() > already, {
        timeoutMs: 120_000,
        intervalMs: 200,
        what: 'the ingress to fail publishing while the bus is down',
      });
      const down = await consumerState();
      assert.equal(down.ackFloor, floor, 'a message was acknowledged while the bus was down');
      assert.equal(
        down.pending + down.unacked,
        3000,
        'the stream was drained while the bus was down',
      );
      await bus.resume();
      await ingress.waitForAll(20_000, 23_000, 300_000);
      ingress.assertOneIdPerMessage(20_000, 23_000);
      await waitFor(async () => (await consumerState()).ackFloor === (await lastSeq()), {
        timeoutMs: 120_000,
        intervalMs: 500,
        what: 'every message acknowledged after the bus came back',
      });
    });
  },
);
