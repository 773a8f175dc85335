import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Trigger } from '@ganglion/api';
import type { DeadLetterRecord } from '@ganglion/core';
import { waitFor } from '@ganglion/testing';
import {
  action,
  event,
  quietLogger,
  RecordingServer,
  secretsDir,
} from '../fixtures/trigger.fixtures.js';
import { closeTriggerRegistry, createTriggerRegistry } from '../registry.js';
import { LocalSecretResolver } from '@ganglion/k8s';
import { TriggerExecutor, type ActionOutcome } from './trigger.executor.js';

interface Harness {
  executor: TriggerExecutor;
  outcomes: ActionOutcome[];
  dead: DeadLetterRecord[];
}

/** A target that holds every request until `release()` is called, then answers 200. */
async function heldServer(): Promise<{ server: RecordingServer; release: () => void }> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const server = await new RecordingServer().start(async (_c, res) => {
    await released;
    res.writeHead(200).end();
  });
  return { server, release };
}

describe('trigger executor: retries, DLQ, rate limit, isolation, backpressure (real HTTP targets)', () => {
  const registry = createTriggerRegistry({ logger: quietLogger });
  const sink = new RecordingServer();
  const failing = new RecordingServer();
  const dlqSink = new RecordingServer();
  const harnesses: TriggerExecutor[] = [];
  const make = (opts: Partial<ConstructorParameters<typeof TriggerExecutor>[0]> = {}): Harness => {
    const outcomes: ActionOutcome[] = [];
    const dead: DeadLetterRecord[] = [];
    const executor = new TriggerExecutor({
      plugins: registry,
      secrets: new LocalSecretResolver(secretsDir({}), {}),
      logger: quietLogger,
      recordOutcome: async (o) => void outcomes.push(o),
      recordDeadLetter: async (d) => void dead.push(d),
      random: () => 0,
      ...opts,
    });
    harnesses.push(executor);
    return { executor, outcomes, dead };
  };
  const http = (name: string, url: string, extra: Partial<Trigger> = {}): Trigger =>
    ({
      template: {
        name,
        http: { url, payload: [{ src: { dependencyName: 'dep', dataKey: 'n' }, dest: 'n' }] },
      },
      ...extra,
    }) as Trigger;

  before(async () => {
    await sink.start();
    await failing.start((_c, res) => void res.writeHead(500).end('boom'));
    await dlqSink.start();
  });
  after(async () => {
    for (const e of harnesses) await e.close();
    await closeTriggerRegistry(registry);
    await Promise.all([sink.stop(), failing.stop(), dlqSink.stop()]);
  });

  it('retries with backoff, then runs the dlqTrigger and records the dead letter and the outcome', async () => {
    const h = make();
    const before = failing.calls.length;
    const t = http('retry-dlq', `${failing.url}/fail`, {
      retryStrategy: { steps: 3, duration: '100ms', factor: 2 },
      atLeastOnce: true,
      dlqTrigger: {
        template: {
          name: 'to-dlq',
          http: {
            url: `${dlqSink.url}/dlq`,
            payload: [{ src: { dependencyName: 'dep', dataKey: 'n' }, dest: 'n' }],
          },
        },
        atLeastOnce: true,
      } as Trigger,
    });
    const a = action(t, { dep: event({ n: 7 }) });
    const { done } = await h.executor.submit({ action: a });
    await done;
    const calls = failing.calls.slice(before);
    assert.equal(calls.length, 3, 'steps: 3 attempts');
    assert.deepEqual(
      new Set(calls.map((c) => c.headers['idempotency-key'])),
      new Set([a.actionId]),
      'every attempt carries the same idempotency key',
    );
    assert.equal(dlqSink.calls.length, 1);
    assert.deepEqual(dlqSink.calls[0]!.json, { n: '7' });
    assert.equal(h.dead.length, 1);
    assert.equal(h.dead[0]!.status, 'dead-lettered');
    assert.equal(h.dead[0]!.errors.length, 3);
    assert.equal(h.dead[0]!.dlqTrigger?.ok, true);
    assert.equal(h.dead[0]!.action.actionId, a.actionId);
    assert.equal(h.outcomes.length, 1);
    assert.equal(h.outcomes[0]!.status, 'dead-lettered');
    assert.equal(h.outcomes[0]!.attempts, 3);
  });

  it('waits the backoff between attempts (100 ms, then 200 ms)', async () => {
    const h = make();
    const stamps: number[] = [];
    const s = await new RecordingServer().start((_c, res) => {
      stamps.push(Date.now());
      res.writeHead(stamps.length < 3 ? 502 : 200).end();
    });
    try {
      const { done } = await h.executor.submit({
        action: action(
          http('backoff', `${s.url}/x`, {
            retryStrategy: { steps: 5, duration: '100ms', factor: 2 },
          }),
        ),
      });
      await done;
      assert.equal(stamps.length, 3);
      assert.ok(stamps[1]! - stamps[0]! >= 95, `first gap ${stamps[1]! - stamps[0]!}`);
      assert.ok(stamps[2]! - stamps[1]! >= 195, `second gap ${stamps[2]! - stamps[1]!}`);
      assert.equal(h.outcomes[0]!.status, 'succeeded');
      assert.equal(h.outcomes[0]!.attempts, 3);
      assert.equal(h.dead.length, 0);
    } finally {
      await s.stop();
    }
  });

  it('without dlqTrigger a failure is recorded as failed and kept on the DLQ; a 4xx is not retried', async () => {
    const h = make();
    const s = await new RecordingServer().start((_c, res) => void res.writeHead(400).end('bad'));
    try {
      const { done } = await h.executor.submit({
        action: action(
          http('no-dlq', `${s.url}/x`, { retryStrategy: { steps: 4, duration: '10ms' } }),
        ),
      });
      await done;
      assert.equal(s.calls.length, 1, 'a 400 is not retried');
      assert.equal(h.outcomes[0]!.status, 'failed');
      assert.equal(h.dead[0]!.status, 'failed');
    } finally {
      await s.stop();
    }
  });

  it('trigger-level parameters apply to the whole template before the plugin runs', async () => {
    const h = make();
    const before = sink.calls.length;
    const t = {
      template: { name: 'tl', http: { url: `${sink.url}/wrong` } },
      parameters: [
        { src: { dependencyName: 'dep', dataKey: 'path' }, dest: 'http.url', operation: 'append' },
      ],
    } as Trigger;
    const { done } = await h.executor.submit({
      action: action(t, { dep: event({ path: '-right' }) }),
    });
    await done;
    assert.equal(sink.calls.slice(before)[0]?.url, '/wrong-right');
  });

  for (const type of ['k8s', 'argoWorkflow'] as const) {
    it(`${type}: without a Kubernetes client configured, fails at once saying so`, async () => {
      const h = make();
      const { done } = await h.executor.submit({
        action: action({
          template: {
            name: 'k',
            [type]: {
              source: { inline: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n' },
            },
          },
          retryStrategy: { steps: 3, duration: '10ms' },
        } as unknown as Trigger),
      });
      await done;
      assert.equal(h.outcomes[0]!.status, 'failed');
      assert.equal(h.outcomes[0]!.attempts, 1);
      assert.match(h.outcomes[0]!.detail, /no Kubernetes API is configured/);
    });
  }

  it('rateLimit blocks: 10 per second spaces 11 actions over at least a second, without slowing another trigger', async () => {
    const h = make();
    const limited = http('limited', `${sink.url}/limited`, {
      rateLimit: { unit: 'Second', requestsPerUnit: 10 },
    });
    const free = http('free', `${sink.url}/free`);
    const started = Date.now();
    const limitedDone = await Promise.all(
      Array.from({ length: 11 }, () => h.executor.submit({ action: action(limited) })),
    );
    const freeDone = await Promise.all(
      Array.from({ length: 30 }, () => h.executor.submit({ action: action(free) })),
    );
    await Promise.all(freeDone.map((d) => d.done));
    const freeMs = Date.now() - started;
    await Promise.all(limitedDone.map((d) => d.done));
    const limitedMs = Date.now() - started;
    assert.ok(limitedMs >= 950, `11 actions at 10/s took ${limitedMs} ms`);
    assert.ok(freeMs < 700, `the unlimited trigger took ${freeMs} ms`);
    const stamps = sink.calls.filter((c) => c.url === '/limited').length;
    assert.equal(stamps, 11);
  });

  it('a hanging target stalls only its own trigger: another trigger keeps its throughput meanwhile', async () => {
    const h = make();
    const { server: hanging, release } = await heldServer();
    try {
      const stuck = await Promise.all(
        Array.from({ length: 5 }, () =>
          h.executor.submit({ action: action(http('stuck', `${hanging.url}/hang`)) }),
        ),
      );
      await waitFor(() => hanging.calls.length === 1, {
        what: 'the stuck trigger to call its target',
      });
      const before = sink.calls.length;
      const n = 500;
      const t0 = Date.now();
      const fast = [];
      for (let i = 0; i < n; i++)
        fast.push(await h.executor.submit({ action: action(http('fast', `${sink.url}/fast`)) }));
      await Promise.all(fast.map((f) => f.done));
      const ms = Date.now() - t0;
      const perSecond = (n * 1000) / ms;
      console.log(
        `# while another trigger hung: ${n} actions in ${ms} ms (${Math.round(perSecond)}/s)`,
      );
      assert.equal(sink.calls.length - before, n);
      assert.ok(perSecond > 100, `throughput ${perSecond}/s`);
      assert.equal(
        hanging.calls.length,
        1,
        'the stuck trigger is still on its first action (in order)',
      );
      assert.equal(h.outcomes.filter((o) => o.trigger === 'stuck').length, 0);
      release();
      await Promise.all(stuck.map((s) => s.done));
      assert.equal(
        h.outcomes.filter((o) => o.trigger === 'stuck' && o.status === 'succeeded').length,
        5,
      );
    } finally {
      release();
      await hanging.stop();
    }
  });

  it('keeps order per trigger; with more concurrency allowed, stays within the bound', async () => {
    const seen: number[] = [];
    let active = 0;
    let peak = 0;
    const s = await new RecordingServer().start(async (c, res) => {
      active++;
      peak = Math.max(peak, active);
      seen.push((c.json as { n: number }).n);
      await new Promise((r) => setTimeout(r, 2 + ((c.json as { n: number }).n % 3) * 3));
      active--;
      res.writeHead(200).end();
    });
    try {
      const ordered = make();
      const t = {
        template: {
          name: 'ordered',
          http: {
            url: `${s.url}/o`,
            payload: [
              { src: { dependencyName: 'dep', dataKey: 'n', useRawData: true }, dest: 'n' },
            ],
          },
        },
      } as Trigger;
      const subs = [];
      for (let i = 0; i < 40; i++)
        subs.push(await ordered.executor.submit({ action: action(t, { dep: event({ n: i }) }) }));
      await Promise.all(subs.map((x) => x.done));
      assert.deepEqual(
        seen,
        Array.from({ length: 40 }, (_, i) => i),
      );
      assert.equal(peak, 1);
      assert.deepEqual(
        ordered.outcomes.map((o) => o.status),
        Array(40).fill('succeeded'),
      );

      seen.length = 0;
      peak = 0;
      const wide = make({ maxConcurrencyPerTrigger: 4 });
      const subs2 = [];
      for (let i = 0; i < 40; i++)
        subs2.push(await wide.executor.submit({ action: action(t, { dep: event({ n: i }) }) }));
      await Promise.all(subs2.map((x) => x.done));
      assert.equal(seen.length, 40);
      assert.ok(peak > 1 && peak <= 4, `peak concurrency ${peak}`);
      // atLeastOnce asks for order whatever the setting.
      seen.length = 0;
      peak = 0;
      const subs3 = [];
      for (let i = 0; i < 20; i++)
        subs3.push(
          await wide.executor.submit({
            action: action({ ...t, atLeastOnce: true }, { dep: event({ n: i }) }),
          }),
        );
      await Promise.all(subs3.map((x) => x.done));
      assert.equal(peak, 1);
      assert.deepEqual(
        seen,
        Array.from({ length: 20 }, (_, i) => i),
      );
    } finally {
      await s.stop();
    }
  });

  it('backpressure: admission waits once a trigger holds its bound of actions, and resumes when they finish', async () => {
    const h = make({ maxBufferedPerTrigger: 5, maxBuffered: 8 });
    const { server: s, release } = await heldServer();
    try {
      const t = http('bp', `${s.url}/bp`);
      const admitted = await Promise.all(
        Array.from({ length: 5 }, () => h.executor.submit({ action: action(t) })),
      );
      let sixthAdmitted = false;
      const sixth = h.executor.submit({ action: action(t) }).then((x) => {
        sixthAdmitted = true;
        return x;
      });
      // Another trigger still has room (global bound 8).
      const other = await h.executor.submit({ action: action(http('other', `${sink.url}/other`)) });
      await other.done;
      await waitFor(() => s.calls.length === 1, { what: 'the first call' });
      assert.equal(sixthAdmitted, false, 'the sixth action waits for room');
      assert.equal(h.executor.size, 5);
      release();
      await Promise.all(admitted.map((a) => a.done));
      await (
        await sixth
      ).done;
      assert.equal(sixthAdmitted, true);
    } finally {
      release();
      await s.stop();
    }
  });

  it('a re-delivered action still in flight joins the running one instead of running twice', async () => {
    const h = make();
    const { server: s, release } = await heldServer();
    try {
      const a = action(http('dup', `${s.url}/dup`));
      const first = await h.executor.submit({ action: a });
      const again = await h.executor.submit({ action: { ...a } });
      release();
      await Promise.all([first.done, again.done]);
      assert.equal(s.calls.length, 1);
      assert.equal(h.outcomes.length, 1);
    } finally {
      release();
      await s.stop();
    }
  });

  it('a re-delivery of an action this process already recorded (a rebalance before the offset commit) is skipped', async () => {
    const h = make();
    const s = await new RecordingServer().start();
    try {
      const a = action(http('again', `${s.url}/again`));
      await (
        await h.executor.submit({ action: a })
      ).done;
      await (
        await h.executor.submit({ action: { ...a } })
      ).done;
      assert.equal(s.calls.length, 1, 'the target was called once');
      assert.equal(h.outcomes.length, 1, 'one outcome');
    } finally {
      await s.stop();
    }
  });

  it('close: an action cut short records nothing and its done promise rejects (it will run again)', async () => {
    const h = make();
    const s = await new RecordingServer().start(() => undefined);
    try {
      const { done } = await h.executor.submit({
        action: action(
          http('cut', `${s.url}/cut`, { retryStrategy: { steps: 3, duration: '10ms' } }),
        ),
      });
      await waitFor(() => s.calls.length === 1, { what: 'the call' });
      await h.executor.close();
      await assert.rejects(done, /shut down/);
      assert.equal(h.outcomes.length, 0);
      assert.equal(h.dead.length, 0);
    } finally {
      await s.stop();
    }
  });
});
