import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { actionId, type ActionRecord, type OutcomeRecord } from '@ganglion/core';
import { kafkaBrokers, uniquePrefix, waitFor, type ServiceProcess } from '@ganglion/testing';
import { BusFixture, sensorYaml, type TestEvent } from './sensor-harness.js';

type JoinOutcome = Extract<OutcomeRecord, { kind: 'join' }>;
type EventOutcome = Extract<OutcomeRecord, { kind: 'event' }>;

const dep = (name: string, source: string, extra: object = {}): object => ({
  name,
  eventSourceName: source,
  eventName: 'ev',
  ...extra,
});
const log = (name: string, extra: object = {}): object => ({
  template: { name, log: {}, ...extra },
});

/**
 * Joins and dependency evaluation in the sensor process, on a real broker: events are produced
 * onto the bus as an ingress would; actions and outcome records are read back (read_committed).
 */
describe('sensor: joins, filters and outcomes', { timeout: 300_000 }, () => {
  let bus: BusFixture;
  let sensor: ServiceProcess;
  let seq = 0;

  before(async () => {
    const prefix = uniquePrefix('joins');
    bus = await new BusFixture({
      brokers: await kafkaBrokers(),
      prefix,
      manifests: {
        'and.yaml': sensorYaml(
          'and',
          [dep('a', 'and-a'), dep('b', 'and-b')],
          [log('t', { conditions: 'a && b' })],
        ),
        'orand.yaml': sensorYaml(
          'orand',
          [dep('a', 'oa-a'), dep('b', 'oa-b'), dep('c', 'oa-c')],
          [log('t', { conditions: '(a || b) && c' })],
        ),
        'reset.yaml': sensorYaml(
          'reset',
          [dep('a', 'rs-a'), dep('b', 'rs-b')],
          [log('t', { conditionsReset: [{ byTime: { cron: '* * * * *' } }] })],
        ),
        's1.yaml': sensorYaml('s1', [dep('a', 'x-a'), dep('b', 'x-b')], [log('t')]),
        's2.yaml': sensorYaml('s2', [dep('a', 'y-a'), dep('b', 'y-b')], [log('t')]),
        'filter.yaml': sensorYaml(
          'filter',
          [
            dep('f', 'flt', {
              transform: { jq: '{n: .n, label: .label}' },
              filters: {
                data: [{ path: 'n', type: 'number', value: ['10'], comparator: '>' }],
                exprs: [{ expr: 'label != "skip"', fields: [{ name: 'label', path: 'label' }] }],
              },
            }),
          ],
          [log('t')],
        ),
      },
    }).start();
    sensor = await bus.sensor('sensor-0');
  });

  after(async () => {
    await sensor?.stop();
    await bus?.stop();
  });

  const ev = (source: string, data: unknown = {}, timeMs?: number): TestEvent => ({
    id: `e${++seq}-${source}`,
    source,
    subject: 'ev',
    data,
    ...(timeMs !== undefined ? { timeMs } : {}),
  });
  const joinOutcome = (e: TestEvent): Promise<JoinOutcome> =>
    waitFor(
      () => bus.outcomes.find((o): o is JoinOutcome => o.kind === 'join' && o.eventId === e.id),
      { timeoutMs: 30_000, what: `the join outcome of ${e.id}` },
    );
  const actionFor = (
    sensorName: string,
    pred: (a: ActionRecord) => boolean = () => true,
  ): Promise<ActionRecord> =>
    waitFor(() => bus.actions.find((a) => a.sensor === sensorName && pred(a)), {
      timeoutMs: 30_000,
      what: `an action of ${sensorName}`,
    });
  const idsOf = (a: ActionRecord): Record<string, string> =>
    Object.fromEntries(
      Object.entries(a.events)
        .map(([k, v]) => [k, v.context.id])
        .sort(),
    );
  const actionsOf = (name: string): ActionRecord[] => bus.actions.filter((a) => a.sensor === name);

  it('a && b: waits for a, fires once b arrives with both events and a deterministic action id', async () => {
    const a = ev('and-a', { v: 1 });
    await bus.send([a]);
    const w = await joinOutcome(a);
    assert.equal(w.result, 'waiting');
    assert.deepEqual(w.have, ['a']);
    assert.equal(actionsOf('and').length, 0);
    const b = ev('and-b', { v: 2 });
    await bus.send([b]);
    const fired = await joinOutcome(b);
    assert.equal(fired.result, 'fired');
    const action = await actionFor('and');
    assert.deepEqual(idsOf(action), { a: a.id, b: b.id });
    assert.deepEqual(action.events['a']!.data, { v: 1 });
    assert.equal(action.actionId, fired.actionId);
    assert.equal(action.actionId, actionId('default/and/t', action.events));
    assert.equal(action.trigger.template.name, 't');
  });

  it('(a || b) && c: b and c fire, then a waits for the next c', async () => {
    const c1 = ev('oa-c');
    const b1 = ev('oa-b');
    await bus.send([c1]);
    assert.equal((await joinOutcome(c1)).result, 'waiting');
    await bus.send([b1]);
    const first = await actionFor('orand');
    assert.deepEqual(idsOf(first), { b: b1.id, c: c1.id });
    const a2 = ev('oa-a');
    await bus.send([a2]);
    assert.deepEqual((await joinOutcome(a2)).have, ['a']);
    const c2 = ev('oa-c');
    await bus.send([c2]);
    const second = await actionFor('orand', (a) => a.actionId !== first.actionId);
    assert.deepEqual(idsOf(second), { a: a2.id, c: c2.id });
  });

  it('conditionsReset by cron drops a half-satisfied join (time is the record timestamp)', async () => {
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const a1 = ev('rs-a', {}, minute - 20_000);
    const b1 = ev('rs-b', {}, minute + 10_000);
    const a2 = ev('rs-a', {}, minute + 20_000);
    await bus.send([a1]);
    assert.equal((await joinOutcome(a1)).result, 'waiting');
    await bus.send([b1]);
    const afterReset = await joinOutcome(b1);
    assert.equal(afterReset.result, 'waiting', 'the reset at the minute dropped a1');
    assert.deepEqual(afterReset.have, ['b']);
    await bus.send([a2]);
    const action = await actionFor('reset');
    assert.deepEqual(idsOf(action), { a: a2.id, b: b1.id });
  });

  it('the same dependency twice before its partner: the latest wins', async () => {
    const a1 = ev('x-a', { n: 1 });
    const a2 = ev('x-a', { n: 2 });
    await bus.send([a1, a2]);
    assert.equal((await joinOutcome(a2)).result, 'waiting');
    const b = ev('x-b');
    await bus.send([b]);
    const action = await actionFor('s1');
    assert.deepEqual(idsOf(action), { a: a2.id, b: b.id });
  });

  it('unrelated sensors with the same dependency names never cross', async () => {
    const before = actionsOf('s1').length;
    const s1a = ev('x-a');
    const s2b = ev('y-b');
    await bus.send([s1a, s2b]);
    const w1 = await joinOutcome(s1a);
    const w2 = await joinOutcome(s2b);
    assert.deepEqual([w1.sensor, w1.result, w1.have], ['s1', 'waiting', ['a']]);
    assert.deepEqual([w2.sensor, w2.result, w2.have], ['s2', 'waiting', ['b']]);
    const s1b = ev('x-b');
    await bus.send([s1b]);
    const action = await actionFor('s1', (a) => a.events['b']!.context.id === s1b.id);
    assert.deepEqual(idsOf(action), { a: s1a.id, b: s1b.id });
    assert.equal(actionsOf('s1').length, before + 1);
    assert.equal(actionsOf('s2').length, 0);
    assert.ok(
      !bus.outcomes.some((o) => o.kind === 'join' && o.sensor === 's2' && o.result === 'fired'),
    );
  });

  it('transforms and filters a dependency, recording why an event was filtered out', async () => {
    const small = ev('flt', { n: 5, label: 'x', extra: true });
    const skipped = ev('flt', { n: 50, label: 'skip' });
    const big = ev('flt', { n: 50, label: 'go', extra: true });
    await bus.send([small, skipped, big]);
    const action = await actionFor('filter');
    assert.equal(action.events['f']!.context.id, big.id);
    assert.deepEqual(
      action.events['f']!.data,
      { n: 50, label: 'go' },
      'the jq transform replaced the data',
    );
    const outcomeOf = (id: string): Promise<EventOutcome> =>
      waitFor(
        () => bus.outcomes.find((o): o is EventOutcome => o.kind === 'event' && o.eventId === id),
        { what: `outcome of ${id}` },
      );
    const o1 = await outcomeOf(small.id);
    assert.equal(o1.decisions[0]!.result, 'filtered');
    assert.match(o1.decisions[0]!.reason!, /data/);
    const o2 = await outcomeOf(skipped.id);
    assert.equal(o2.decisions[0]!.result, 'filtered');
    assert.match(o2.decisions[0]!.reason!, /exprs/);
    const o3 = await outcomeOf(big.id);
    assert.deepEqual(o3.decisions[0]!.triggers, [
      { trigger: 't', result: 'fired', actionId: action.actionId },
    ]);
    assert.equal(actionsOf('filter').length, 1);
  });
});
