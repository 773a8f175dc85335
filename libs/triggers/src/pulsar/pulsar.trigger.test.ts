import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Trigger } from '@ganglion/api';
import type { DeadLetterRecord } from '@ganglion/core';
import { LocalSecretResolver } from '@ganglion/k8s';
import { PulsarStandalone, uniquePrefix } from '@ganglion/testing';
import { TriggerExecutor, type ActionOutcome } from '../executor/trigger.executor.js';
import { action, context, event, quietLogger, secretsDir } from '../fixtures/trigger.fixtures.js';
import { closeTriggerRegistry, createTriggerRegistry } from '../registry.js';
import { createPulsarTrigger } from './pulsar.trigger.js';

/**
 * The pulsar trigger through the executor against a real Pulsar standalone (Maven Central jars):
 * the payload lands on the topic, a repeated action is stored once (broker deduplication on the
 * namespace, producer named after the action), and Pulsar down ends in retries and the DLQ.
 * Messages are read back with Pulsar's admin REST API, not with the client under test.
 */
describe('pulsar trigger against a Pulsar standalone', { timeout: 400_000 }, () => {
  const registry = createTriggerRegistry({ logger: quietLogger });
  const prefix = uniquePrefix('pt');
  let pulsar: PulsarStandalone;
  const executors: TriggerExecutor[] = [];

  const make = () => {
    const outcomes: ActionOutcome[] = [];
    const dead: DeadLetterRecord[] = [];
    const executor = new TriggerExecutor({
      plugins: registry,
      secrets: new LocalSecretResolver(secretsDir({}), {}),
      logger: quietLogger,
      recordOutcome: async (o) => void outcomes.push(o),
      recordDeadLetter: async (d) => void dead.push(d),
      random: () => 0,
    });
    executors.push(executor);
    return { executor, outcomes, dead };
  };
  const trigger = (topic: string, extra: Partial<Trigger> = {}): Trigger =>
    ({
      template: {
        name: 'to-pulsar',
        pulsar: {
          url: pulsar.url,
          topic,
          payload: [
            { src: { dependencyName: 'dep', dataKey: 'order' }, dest: 'order' },
            { src: { dependencyName: 'dep', dataKey: 'n', useRawData: true }, dest: 'n' },
          ],
        },
      },
      ...extra,
    }) as Trigger;
  const admin = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const res = await fetch(`${pulsar.webUrl}/admin/v2/${path}`, init);
    if (!res.ok && res.status !== 409)
      throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
    return res;
  };
  /** Creates `sub` on the topic (from the earliest message) before anything is published. */
  const subscribe = (ns: string, topic: string) =>
    admin(`persistent/${ns}/${topic}/subscription/sub`, { method: 'PUT' });
  const backlog = async (ns: string, topic: string): Promise<number> => {
    const stats = (await (await admin(`persistent/${ns}/${topic}/stats`)).json()) as {
      subscriptions: Record<string, { msgBacklog: number }>;
    };
    return stats.subscriptions['sub']!.msgBacklog;
  };
  const peek = async (ns: string, topic: string, position: number) => {
    const res = await admin(`persistent/${ns}/${topic}/subscription/sub/position/${position}`);
    return { body: await res.text(), headers: res.headers };
  };

  before(async () => {
    pulsar = await PulsarStandalone.start();
    await admin('namespaces/public/dedup', { method: 'PUT' });
    await admin('namespaces/public/dedup/deduplication', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'true',
    });
  });
  after(async () => {
    for (const e of executors) await e.close();
    await closeTriggerRegistry(registry);
    await pulsar?.stop();
  });

  it('an action of a Sensor trigger arrives on the topic with the payload', async () => {
    const topic = `${prefix}-orders`;
    await subscribe('public/default', topic);
    const h = make();
    const a = action(trigger(`persistent://public/default/${topic}`), {
      dep: event({ order: 'A-17', n: 3 }),
    });
    const { done } = await h.executor.submit({ action: a });
    await done;
    assert.equal(h.outcomes[0]?.status, 'succeeded', JSON.stringify(h.outcomes));
    assert.match(h.outcomes[0]!.detail, /published to persistent:\/\/public\/default\//);
    assert.equal(await backlog('public/default', topic), 1);
    const m = await peek('public/default', topic, 1);
    assert.deepEqual(JSON.parse(m.body), { order: 'A-17', n: 3 });
    // The admin API returns the properties as one JSON header.
    assert.deepEqual(JSON.parse(m.headers.get('x-pulsar-property') ?? '{}'), {
      'ganglion-action-id': a.actionId,
    });
    assert.match(m.headers.get('x-pulsar-producer-name') ?? '', /^ganglion-[0-9a-f]{40}$/);
    assert.equal(m.headers.get('x-pulsar-sequence-id'), '0');
  });

  it('a redelivered action is stored once (deduplication by producer name and sequence id)', async () => {
    const topic = `${prefix}-dedup`;
    await subscribe('public/dedup', topic);
    const t = trigger(`persistent://public/dedup/${topic}`);
    const [h, replica] = [make(), make()];
    const first = action(t, { dep: event({ order: 'B-1', n: 1 }) });
    const run = async (e: TriggerExecutor, a: typeof first) => (await e.submit({ action: a })).done;
    await run(h.executor, first);
    // The same action read again from the bus by another replica (the first died before
    // committing its offset): a new executor, so only Pulsar can tell it was published.
    await run(replica.executor, { ...first });
    await run(h.executor, action(t, { dep: event({ order: 'B-2', n: 2 }) }));
    const outcomes = [h.outcomes[0], replica.outcomes[0], h.outcomes[1]];
    assert.deepEqual(
      outcomes.map((o) => o?.status),
      ['succeeded', 'succeeded', 'succeeded'],
      JSON.stringify(outcomes),
    );
    assert.match(replica.outcomes[0]!.detail, /already published/);
    assert.equal(await backlog('public/dedup', topic), 2, 'B-1 once, B-2 once');
    assert.deepEqual(JSON.parse((await peek('public/dedup', topic, 1)).body), {
      order: 'B-1',
      n: 1,
    });
    assert.deepEqual(JSON.parse((await peek('public/dedup', topic, 2)).body), {
      order: 'B-2',
      n: 2,
    });
  });

  it('two replicas running the same action at once store it once', async () => {
    const topic = `${prefix}-race`;
    await subscribe('public/dedup', topic);
    const t = trigger(`persistent://public/dedup/${topic}`, {
      retryStrategy: { steps: 5, duration: '100ms' },
    });
    const a = action(t, { dep: event({ order: 'R-1', n: 1 }) });
    const replicas = [make(), make(), make()];
    await Promise.all(
      replicas.map(async (r) => (await r.executor.submit({ action: { ...a } })).done),
    );
    const outcomes = replicas.map((r) => r.outcomes[0]);
    assert.deepEqual(
      outcomes.map((o) => o?.status),
      ['succeeded', 'succeeded', 'succeeded'],
      JSON.stringify(outcomes),
    );
    assert.equal(await backlog('public/dedup', topic), 1, JSON.stringify(outcomes));
  });

  it('a template Pulsar cannot take fails at once with the reason, without retries', async () => {
    const plugin = createPulsarTrigger();
    try {
      const ctx = context();
      const base = { url: pulsar.url, topic: `${prefix}-x`, payload: [] };
      const athenz = await plugin.execute(
        { ...base, authAthenzParams: { tenantDomain: 'x' } },
        {} as Trigger,
        {},
        ctx,
      );
      assert.equal(athenz.ok, false);
      assert.equal(!athenz.ok && athenz.retryable, false);
      assert.match(!athenz.ok ? athenz.error : '', /Athenz authentication .* is not supported/);
      const scheme = await plugin.execute(
        { ...base, url: 'http://127.0.0.1:1' },
        {} as Trigger,
        {},
        ctx,
      );
      assert.match(!scheme.ok ? scheme.error : '', /url must start with pulsar:\/\//);
      assert.equal(!scheme.ok && scheme.retryable, false);
      const badTopic = await plugin.execute(
        { ...base, topic: 'persistent://public/default/a/b/c/d' },
        {} as Trigger,
        {},
        ctx,
      );
      assert.equal(badTopic.ok, false, JSON.stringify(badTopic));
      assert.match(!badTopic.ok ? badTopic.error : '', /INVALIDTOPICNAME/);
      assert.equal(!badTopic.ok && badTopic.retryable, false);
    } finally {
      await plugin.close?.();
    }
  });

  it('Pulsar down: the attempts are retried, then the action is dead-lettered with the reason', async () => {
    const topic = `persistent://public/default/${prefix}-down`;
    const h = make();
    // A connection to this broker is cached from the tests above: it must be noticed as dead.
    const warm = action(trigger(topic), { dep: event({ order: 'C-0', n: 0 }) });
    await (
      await h.executor.submit({ action: warm })
    ).done;
    assert.equal(h.outcomes[0]?.status, 'succeeded', JSON.stringify(h.outcomes));
    await pulsar.stop();
    const a = action(
      trigger(topic, {
        retryStrategy: { steps: 3, duration: '50ms' },
        atLeastOnce: true,
        dlqTrigger: { template: { name: 'to-log', log: {} } } as Trigger,
      }),
      { dep: event({ order: 'C-1', n: 1 }) },
    );
    await (
      await h.executor.submit({ action: a })
    ).done;
    const outcome = h.outcomes[1]!;
    assert.equal(outcome.status, 'dead-lettered', JSON.stringify(outcome));
    assert.equal(outcome.attempts, 3);
    assert.equal(h.dead.length, 1);
    assert.equal(h.dead[0]!.status, 'dead-lettered');
    assert.equal(h.dead[0]!.dlqTrigger?.ok, true);
    assert.equal(h.dead[0]!.errors.length, 3);
    for (const e of h.dead[0]!.errors)
      assert.match(e, new RegExp(`publish to Pulsar topic ${topic}: .*(ECONNREFUSED|closed)`));
  });
});
