import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaBroker, NsqServer, uniquePrefix, waitFor } from '@ganglion/testing';
import { BrokerIngress } from './broker-harness.js';

const seqOf = (data: Record<string, unknown>): number | undefined =>
  (data['body'] as { seq?: number } | undefined)?.seq;

/**
 * ingress-nsq as processes against nsqd + nsqlookupd (built from the Go module proxy), the bus
 * on a Kafka broker of the test's own. Replicas share the channel; a message is finished (FIN)
 * only once the bus has its event.
 */
describe('ingress-nsq: an NSQ channel bridged into the bus', { timeout: 900_000 }, () => {
  const prefix = uniquePrefix('nsq-src');
  const topic = `${prefix}-orders`;
  const channel = 'ganglion';
  let nsq: NsqServer;
  let bus: KafkaBroker;
  let ingress: BrokerIngress;

  const publish = (from: number, to: number): Promise<void> =>
    nsq.publish(
      topic,
      Array.from({ length: to - from }, (_, i) => JSON.stringify({ seq: from + i })),
    );

  before(async () => {
    nsq = await NsqServer.start();
    // The topic and channel exist before the source starts (as an operator creates them), so
    // messages published before it connects wait in the channel.
    for (const path of [
      `/topic/create?topic=${topic}`,
      `/channel/create?topic=${topic}&channel=${channel}`,
    ]) {
      const res = await fetch(`${nsq.nsqdHttpUrl}${path}`, { method: 'POST' });
      assert.ok(res.ok, `${path}: ${res.status}`);
    }
    bus = await KafkaBroker.start({ heap: '384m' });
    ingress = new BrokerIngress({
      service: 'ingress-nsq',
      prefix,
      brokers: bus.brokers,
      seqOf,
      eventSource: {
        name: 'nsq',
        spec: {
          nsq: {
            orders: {
              hostAddress: nsq.lookupdHttpAddress,
              topic,
              channel,
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
  });

  after(async () => {
    await ingress?.stop();
    await bus?.destroy();
    await nsq?.stop();
  });

  it("messages arrive with Argo's data shape and ids from nsqd's message id", async () => {
    await publish(0, 3);
    await ingress.waitForAll(0, 3, 120_000);
    const first = ingress.events.find((e) => seqOf(e.data) === 0)!;
    assert.equal(first.event.type, 'nsq');
    assert.equal(first.event.source, 'nsq');
    assert.equal(first.event.subject, 'orders');
    assert.deepEqual(first.data['body'], { seq: 0 });
    assert.deepEqual(first.data['metadata'], { team: 'payments' });
    assert.equal(first.data['nsqdAddress'], nsq.nsqdTcpAddress);
    assert.match(String(first.data['timestamp']), /^\d{19}$/, 'nanoseconds since the epoch');
    const ts = BigInt(String(first.data['timestamp']));
    assert.ok(Math.abs(Number(ts / 1_000_000n) - Date.now()) < 600_000);
    assert.deepEqual(Object.keys(first.data).sort(), [
      'body',
      'metadata',
      'nsqdAddress',
      'timestamp',
    ]);
    // The id derives from nsqd's message id: a deterministic 32-hex-digit hash.
    assert.match(first.id, /^[0-9a-f]{32}$/);
    await waitFor(async () => (await nsq.pending(topic, channel)) === 0, {
      timeoutMs: 30_000,
      what: 'the messages finished at nsqd',
    });
  });

  it('two replicas share the channel: 2,000 messages, none twice', async () => {
    await ingress.replica();
    await waitFor(
      () =>
        ingress.replicas.filter((r) => r.records().some((l) => l['msg'] === 'nsqd connected'))
          .length === 2,
      { timeoutMs: 120_000, what: 'both replicas connected to nsqd' },
    );
    await publish(100, 2100);
    await ingress.waitForAll(100, 2100);
    assert.equal(ingress.duplicates(100, 2100), 0, 'a message reached the bus twice');
  });

  it('a replica SIGKILLed mid-stream of 5,000 messages: every message on the bus, duplicates only with the same id', async () => {
    const victim = ingress.replicas.find((r) => r.running)!;
    const sending = publish(10_000, 15_000);
    await waitFor(() => [...ingress.bySeq.keys()].filter((s) => s >= 10_000).length > 500, {
      timeoutMs: 120_000,
      what: 'the stream to start',
    });
    await victim.stop('SIGKILL');
    await sending;
    await ingress.waitForAll(10_000, 15_000);
    ingress.assertOneIdPerMessage(10_000, 15_000);
  });

  it('bus down: the channel is not drained, and nothing is lost when the bus is back', async () => {
    await waitFor(async () => (await nsq.pending(topic, channel)) === 0, {
      timeoutMs: 60_000,
      what: 'the channel drained before the outage',
    });
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
    // Nothing finished: every message is still queued or in flight at nsqd.
    assert.equal(await nsq.pending(topic, channel), 3000);
    await bus.resume();
    await ingress.waitForAll(20_000, 23_000);
    ingress.assertOneIdPerMessage(20_000, 23_000);
  });
});
