import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaBroker, kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';

/** Timers (setTimeout/setInterval) this process holds now. */
const timers = (): number => process.getActiveResourcesInfo().filter((t) => t === 'Timeout').length;

/**
 * The kafkajs patch (patches/kafkajs@2.2.4.patch, requestQueue) checks request timeouts only
 * while a connection has requests in flight. kafkajs checked every connected connection every
 * 100 ms: an idle service woke ten times a second per connection.
 */
describe('kafkajs request timeouts (patched request queue)', { timeout: 120_000 }, () => {
  let paused: KafkaBroker;
  const prefix = uniquePrefix('request-timeouts');

  before(async () => {
    paused = await KafkaBroker.start();
  });

  after(async () => {
    if (paused?.pid) process.kill(paused.pid, 'SIGCONT');
    await paused?.destroy();
  });

  it('an idle connected client holds no timer', async () => {
    const baseline = timers();
    const kafka = new Kafka({
      clientId: `${prefix}-idle`,
      brokers: (await kafkaBrokers()).split(','),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.listTopics();
      await admin.describeCluster();
      // Every answered request leaves the connection idle: its check stops within a second
      // (unpatched, each connected connection kept a 100 ms interval for as long as it lived).
      await waitFor(() => timers() <= baseline, {
        timeoutMs: 5_000,
        what: `timers back to ${baseline} (now ${timers()})`,
      });
    } finally {
      await admin.disconnect();
    }
  });

  it('a request the broker does not answer still fails at its timeout', async () => {
    const kafka = new Kafka({
      clientId: `${prefix}-stopped`,
      brokers: paused.brokers.split(','),
      requestTimeout: 1_500,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.listTopics();
      // The broker process is stopped, not gone: the connection stays up and nothing answers.
      process.kill(paused.pid!, 'SIGSTOP');
      const t0 = Date.now();
      const err = await admin.fetchTopicMetadata({ topics: [] }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      const took = Date.now() - t0;
      process.kill(paused.pid!, 'SIGCONT');
      assert.ok(err, 'the request succeeded against a stopped broker');
      assert.match(
        `${err.name} ${err.message} ${String((err as { originalError?: unknown }).originalError)}`,
        /timed? ?out/i,
      );
      // Timed out after its 1.5 s, detected by the one-second check: not before, not much after.
      assert.ok(took >= 1_500 && took < 6_000, `failed after ${took} ms`);
    } finally {
      process.kill(paused.pid!, 'SIGCONT');
      await admin.disconnect();
    }
  });
});
