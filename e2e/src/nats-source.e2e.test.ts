import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers as natsHeaders, type NatsConnection } from 'nats';
import { kafkaBrokers, NatsServer, uniquePrefix, waitFor } from '@ganglion/testing';
import { BrokerIngress } from './broker-harness.js';

const seqOf = (data: Record<string, unknown>): number | undefined =>
  (data['body'] as { seq?: number } | undefined)?.seq;

/**
 * ingress-nats as processes against Debian's nats-server: core NATS subjects through a queue
 * group shared by the replicas. Core NATS has no acknowledgement, so these tests check what it
 * can promise: Argo's data, every message to exactly one replica, and, when a replica is killed,
 * no message twice and every message published after its connection closed on the bus.
 */
describe('ingress-nats: NATS subjects bridged into the bus', { timeout: 600_000 }, () => {
  const prefix = uniquePrefix('nats-src');
  let server: NatsServer;
  let nc: NatsConnection;
  let ingress: BrokerIngress;
  const subject = `${prefix}.orders`;

  async function publish(from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) {
      nc.publish(subject, JSON.stringify({ seq: i }));
      if (i % 500 === 499) await nc.flush();
    }
    await nc.flush();
  }

  before(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
    ingress = await new BrokerIngress({
      service: 'ingress-nats',
      prefix,
      brokers: await kafkaBrokers(),
      seqOf,
      eventSource: {
        name: 'nats',
        spec: {
          nats: {
            orders: { url: server.url, subject, jsonBody: true, metadata: { team: 'payments' } },
          },
        },
      },
    }).start();
    await ingress.replica();
    await ingress.replica();
    // Both replicas subscribed (each logs it) before anything is published.
    await waitFor(
      () =>
        ingress.replicas.every((r) =>
          r.records().some((l) => l['msg'] === 'broker source connected'),
        ),
      { timeoutMs: 60_000, what: 'both replicas subscribed' },
    );
  });

  after(async () => {
    await ingress?.stop();
    await nc?.close();
    await server?.stop();
  });

  it("messages arrive with Argo's data shape; an incoming CloudEvent keeps its id", async () => {
    const h = natsHeaders();
    h.set('ce-id', 'order-7');
    h.set('ce-specversion', '1.0');
    h.set('ce-source', 'shop');
    h.set('ce-type', 'order.created');
    nc.publish(subject, JSON.stringify({ seq: 0 }));
    nc.publish(subject, JSON.stringify({ seq: 1 }), { headers: h });
    await nc.flush();
    await ingress.waitForAll(0, 2, 60_000);
    const plain = ingress.events.find((e) => seqOf(e.data) === 0)!;
    assert.equal(plain.event.type, 'nats');
    assert.equal(plain.event.subject, 'orders');
    assert.deepEqual(plain.data, {
      subject,
      header: null,
      body: { seq: 0 },
      metadata: { team: 'payments' },
    });
    const ce = ingress.events.find((e) => seqOf(e.data) === 1)!;
    assert.equal(ce.id, 'order-7');
    assert.equal(ce.event['originsource'], 'shop');
    assert.deepEqual((ce.data['header'] as Record<string, string[]>)['ce-id'], ['order-7']);
  });

  it('two replicas in one queue group: 2,000 messages, each on the bus once', async () => {
    await publish(100, 2100);
    await ingress.waitForAll(100, 2100);
    assert.equal(ingress.duplicates(100, 2100), 0, 'a message reached the bus twice');
    // Both replicas took a share.
    const counts = ingress.replicas.map(
      (r) => r.records().filter((l) => l['msg'] === 'broker source connected').length,
    );
    assert.deepEqual(counts, [1, 1]);
  });

  it('a replica SIGKILLed mid-stream of 5,000: nothing twice, and everything published after its connection closed is on the bus', async () => {
    const victim = ingress.replicas[0]!;
    const sending = publish(10_000, 12_000);
    await victim.stop('SIGKILL');
    await sending;
    // Until the server has dropped the killed member's connection, some messages still go to
    // it: probe batches until one arrives whole.
    let probe = 90_000;
    await waitFor(
      async () => {
        const from = probe;
        probe += 20;
        await publish(from, probe);
        return ingress
          .waitForAll(from, probe, 3000)
          .then(() => true)
          .catch(() => false);
      },
      { timeoutMs: 60_000, what: 'the survivor alone in the queue group' },
    );
    await publish(12_000, 15_000);
    await ingress.waitForAll(12_000, 15_000);
    assert.equal(ingress.duplicates(10_000, 15_000), 0, 'a message reached the bus twice');
    // Core NATS has no acknowledgement: the docs promise that only messages handed to the killed
    // replica before its connection closed can be lost, none published after (checked above).
    let lost = 0;
    for (let i = 10_000; i < 12_000; i++) if (!ingress.bySeq.has(i)) lost++;
    // The queue group split the kill window: the survivor's share all arrived.
    assert.ok(
      lost < 2000,
      'every message sent around the SIGKILL was lost (the survivor took none)',
    );
    console.log(`core NATS: ${lost} of the 2,000 messages sent around the SIGKILL were lost`);
  });
});
