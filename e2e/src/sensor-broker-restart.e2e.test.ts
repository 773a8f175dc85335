import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ActionRecord } from '@ganglion/core';
import {
  freePort,
  KafkaBroker,
  uniquePrefix,
  waitFor,
  type ServiceProcess,
} from '@ganglion/testing';
import { webhookSourceYaml } from './harness.js';
import { BusFixture, countById, sensorYaml, startService } from './sensor-harness.js';

const seqOf = (a: ActionRecord): number =>
  (a.events['a']!.data as { body: { seq: number } }).body.seq;

/**
 * webhook → sensor (2-dependency join) on a broker this file owns, stopped and restarted while
 * events flow. Every event matches both dependencies (`a && b`), so each accepted event fires
 * the join once, whatever the interleaving of the posts.
 */
describe('broker restart mid-stream', { timeout: 600_000 }, () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => undefined);
  });

  it('the webhook answers 503 (never 2xx) while the broker is down; afterwards every accepted event fires exactly once', async () => {
    const broker = await KafkaBroker.start({ coordinatorLog: true });
    cleanup.push(() => broker.destroy());
    const port = await freePort();
    const bus = await new BusFixture({
      brokers: broker.brokers,
      prefix: uniquePrefix('brk'),
      partitions: 3,
      manifests: {
        'eventsource.yaml': webhookSourceYaml('webhook', port, ['example']),
        'sensor.yaml': sensorYaml(
          'pair',
          [
            { name: 'a', eventSourceName: 'webhook', eventName: 'example' },
            {
              name: 'b',
              eventSourceName: 'webhook',
              eventName: 'example',
              filters: {
                data: [{ path: 'body.seq', type: 'number', value: ['0'], comparator: '>=' }],
              },
            },
          ],
          [{ template: { name: 't', log: {}, conditions: 'a && b' } }],
        ),
      },
    }).start();
    cleanup.push(() => bus.stop());
    const webhook = await startService('ingress-webhook', bus.env, 'brk-webhook');
    const sensor: ServiceProcess = await bus.sensor('brk-sensor');
    cleanup.push(() => Promise.all([webhook.stop(), sensor.stop()]));
    await waitFor(
      async () =>
        (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status === 200,
      { timeoutMs: 30_000, what: 'the webhook route' },
    );

    const total = 1500;
    const accepted = new Set<number>();
    const retried = new Set<number>();
    let state: 'up' | 'stopping' | 'down' | 'resuming' = 'up';
    const okWhileDown: number[] = [];
    let downAnswers = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const seq = next++;
        if (seq >= total) return;
        for (;;) {
          const sentWhile = state;
          const res = await fetch(`http://127.0.0.1:${port}/example`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ seq }),
          }).catch(() => undefined);
          await res?.arrayBuffer();
          const answeredWhile = state;
          if (res?.status === 200) {
            if (sentWhile === 'down' && answeredWhile === 'down') okWhileDown.push(seq);
            accepted.add(seq);
            break;
          }
          assert.equal(res?.status, 503, `unexpected status ${res?.status}`);
          if (sentWhile === 'down' && answeredWhile === 'down') downAnswers++;
          retried.add(seq);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const posting = Promise.all(Array.from({ length: 4 }, () => worker()));

    await waitFor(() => accepted.size >= 400, { timeoutMs: 60_000, what: '400 accepted events' });
    state = 'stopping';
    await broker.stop();
    state = 'down';
    await waitFor(() => downAnswers >= 20, {
      timeoutMs: 60_000,
      what: '503 answers while the broker is down',
    });
    console.log(`# broker down: ${downAnswers} answers 503, ${accepted.size} accepted before`);
    state = 'resuming';
    await broker.resume();
    state = 'up';
    await posting;
    assert.deepEqual(okWhileDown, [], 'no 2xx while the broker was down');
    assert.equal(accepted.size, total);

    await waitFor(() => new Set(bus.actions.map(seqOf)).size >= total, {
      timeoutMs: 120_000,
      intervalMs: 200,
      what: `actions for all ${total} events`,
    }).catch(async (err: unknown) => {
      const seen = new Set(bus.actions.map(seqOf));
      const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !seen.has(i));
      console.log(
        `# actions for ${seen.size} events; missing ${missing.length}: ${missing.slice(0, 20).join(',')}`,
      );
      console.log(`# ${(await bus.diagnose()).split('\n').join('\n# ')}`);
      console.log(`# sensor log:\n${sensor.lines.slice(-60).join('\n')}`);
      console.log(`# ${broker.transactionDiagnostics().split('\n').join('\n# ')}`);
      throw err;
    });
    await sensor.stop();
    await bus.drainActions(3);
    const counts = countById(bus.actions);
    assert.deepEqual(
      [...counts.values()].filter((n) => n > 1),
      [],
      'no action id twice',
    );
    const perSeq = new Map<number, number>();
    for (const a of bus.actions) perSeq.set(seqOf(a), (perSeq.get(seqOf(a)) ?? 0) + 1);
    for (let seq = 0; seq < total; seq++) {
      const n = perSeq.get(seq) ?? 0;
      // An event answered 503 may still have been written before the broker went away (the
      // client's retry then makes a second event, as with any at-least-once ingress).
      if (retried.has(seq)) assert.ok(n >= 1 && n <= 2, `event ${seq}: ${n} actions`);
      else assert.equal(n, 1, `event ${seq}: ${n} actions`);
    }
    for (const a of bus.actions) assert.equal(a.events['a']!.context.id, a.events['b']!.context.id);
  });
});
