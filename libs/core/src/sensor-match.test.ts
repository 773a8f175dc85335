import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Sensor } from '@ganglion/api';
import { actionId } from './action-id.js';
import type { SensorEvent } from './event.js';
import { compileSensor, joinStep, routeEvent } from './sensor-match.js';

const sensor = (deps: object[], triggers: object[]): Sensor =>
  ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Sensor',
    metadata: { name: 's' },
    spec: { dependencies: deps, triggers },
  }) as unknown as Sensor;
const ev = (id: string, source: string, data: unknown = {}): SensorEvent => ({
  context: { id, source, subject: 'e', specversion: '1.0', type: 'webhook' },
  data,
});
const T = Date.parse('2026-01-01T10:00:00Z');

describe('sensor evaluation', () => {
  it('fires a single-dependency trigger at once with a deterministic action id', () => {
    const cs = compileSensor(
      sensor(
        [{ name: 'd', eventSourceName: 'es', eventName: 'e' }],
        [{ template: { name: 't', log: {} } }],
      ),
      'ns',
    );
    const r = routeEvent(cs, ev('1', 'es'), T);
    assert.equal(r.fired.length, 1);
    assert.equal(r.fired[0]!.actionId, actionId('ns/s/t', { d: ev('1', 'es') }));
    assert.deepEqual(routeEvent(cs, ev('1', 'es'), T).fired[0]!.actionId, r.fired[0]!.actionId);
    assert.deepEqual(r.decisions[0]!.triggers, [
      { trigger: 't', result: 'fired', actionId: r.fired[0]!.actionId },
    ]);
    assert.equal(routeEvent(cs, ev('2', 'other'), T).decisions.length, 0);
  });

  it('routes multi-dependency triggers to their join, only for dependencies in the condition', () => {
    const cs = compileSensor(
      sensor(
        [
          { name: 'a', eventSourceName: 'es', eventName: 'e' },
          { name: 'b', eventSourceName: 'es2', eventName: 'e' },
        ],
        [
          { template: { name: 'both', log: {} } },
          { template: { name: 'onlyB', log: {}, conditions: 'b' } },
        ],
      ),
      'ns',
    );
    const r = routeEvent(cs, ev('1', 'es'), T);
    assert.deepEqual(
      r.joins.map((j) => [j.key, j.dependency]),
      [['ns/s/both', 'a']],
    );
    assert.equal(r.fired.length, 0);
    const r2 = routeEvent(cs, ev('2', 'es2'), T);
    assert.deepEqual(
      r2.fired.map((f) => f.key),
      ['ns/s/onlyB'],
    );
    assert.deepEqual(
      r2.joins.map((j) => j.key),
      ['ns/s/both'],
    );
  });

  it('applies the transform before the filters and reports why an event was filtered out', () => {
    const cs = compileSensor(
      sensor(
        [
          {
            name: 'd',
            eventSourceName: 'es',
            eventName: 'e',
            transform: { jq: '{n: .x}' },
            filters: { data: [{ path: 'n', type: 'number', value: ['3'], comparator: '>' }] },
          },
        ],
        [{ template: { name: 't', log: {} } }],
      ),
      'ns',
    );
    const out = routeEvent(cs, ev('1', 'es', { x: 1 }), T);
    assert.equal(out.decisions[0]!.result, 'filtered');
    assert.ok(out.decisions[0]!.reason);
    const pass = routeEvent(cs, ev('2', 'es', { x: 5 }), T);
    assert.deepEqual(pass.fired[0]!.events['d']!.data, { n: 5 });
    const bad = routeEvent(cs, ev('3', 'es', 'not json'), T);
    assert.equal(bad.decisions[0]!.result, 'error');
    assert.match(bad.decisions[0]!.reason!, /JSON/);
  });

  it('a filter that cannot be evaluated in time is an `error` decision, and the next dependency still fires', () => {
    const cs = compileSensor(
      sensor(
        [
          {
            name: 'slow',
            eventSourceName: 'es',
            eventName: 'e',
            filters: { script: 'return string.find(("a"):rep(800), ".-.-.-b") ~= nil' },
          },
          { name: 'fine', eventSourceName: 'es', eventName: 'e' },
        ],
        [{ template: { name: 't', conditions: 'fine', log: {} } }],
      ),
      'ns',
    );
    const r = routeEvent(cs, ev('4', 'es', { x: 1 }), T, { luaLimits: { deadlineMs: 100 } });
    assert.deepEqual(
      r.decisions.map((d) => [d.dependency, d.result]),
      [
        ['slow', 'error'],
        ['fine', 'matched'],
      ],
    );
    assert.match(r.decisions[0]!.reason!, /deadline of 100 ms/);
    assert.equal(r.fired.length, 1);
  });

  it('joins a && b with latest-wins and fires with both events', () => {
    const cs = compileSensor(
      sensor(
        [
          { name: 'a', eventSourceName: 'x', eventName: 'e' },
          { name: 'b', eventSourceName: 'y', eventName: 'e' },
        ],
        [{ template: { name: 't', log: {} } }],
      ),
      'ns',
    );
    const t = cs.byName.get('t')!;
    let s = joinStep(t, undefined, { dependency: 'a', event: ev('a1', 'x') }, T).state;
    s = joinStep(t, s, { dependency: 'a', event: ev('a2', 'x') }, T).state;
    const r = joinStep(t, s, { dependency: 'b', event: ev('b1', 'y') }, T);
    assert.deepEqual(
      Object.fromEntries(Object.entries(r.fired!.events).map(([k, v]) => [k, v.context.id])),
      { a: 'a2', b: 'b1' },
    );
    assert.deepEqual(r.state.events, {});
  });

  it('reports a trigger whose condition cannot be compiled instead of firing it', () => {
    const cs = compileSensor(
      sensor(
        [{ name: 'a', eventSourceName: 'x', eventName: 'e' }],
        [{ template: { name: 't', log: {}, conditions: 'a &&' } }],
      ),
      'ns',
    );
    const r = routeEvent(cs, ev('1', 'x'), T);
    assert.equal(r.fired.length + r.joins.length, 0);
    assert.equal(r.decisions[0]!.triggers[0]!.result, 'error');
  });
});
