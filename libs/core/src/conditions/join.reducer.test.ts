import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SensorEvent } from '../event.js';
import { applyReset, createJoin, initialJoinState, step, type JoinState } from './join.reducer.js';

const ev = (id: string, time?: string): SensorEvent => ({
  context: { id, source: 'es', specversion: '1.0', type: 'webhook', ...(time ? { time } : {}) },
  data: { id },
});
const T0 = Date.parse('2026-01-01T10:00:00Z');

describe('join reducer', () => {
  it('fires when all default dependencies arrived', () => {
    const join = createJoin(['a', 'b']);
    let s = initialJoinState(join, T0);
    const r1 = step(join, s, { dependency: 'a', event: ev('1') }, T0);
    assert.equal(r1.fired, undefined);
    s = r1.state;
    const r2 = step(join, s, { dependency: 'b', event: ev('2') }, T0);
    assert.deepEqual(Object.keys(r2.fired!).sort(), ['a', 'b']);
    assert.deepEqual(r2.state.events, {});
  });
  it('or condition fires with one dependency', () => {
    const join = createJoin(['a', 'b'], 'a || b');
    const r = step(join, initialJoinState(join, T0), { dependency: 'b', event: ev('1') }, T0);
    assert.deepEqual(Object.keys(r.fired!), ['b']);
  });
  it('latest event wins before the partner arrives', () => {
    const join = createJoin(['a', 'b']);
    let s: JoinState = initialJoinState(join, T0);
    s = step(join, s, { dependency: 'a', event: ev('old') }, T0).state;
    s = step(join, s, { dependency: 'a', event: ev('new') }, T0).state;
    const r = step(join, s, { dependency: 'b', event: ev('b') }, T0);
    assert.equal(r.fired!.a!.context.id, 'new');
  });
  it('state resets after firing', () => {
    const join = createJoin(['a', 'b']);
    let s: JoinState = initialJoinState(join, T0);
    s = step(join, s, { dependency: 'a', event: ev('1') }, T0).state;
    s = step(join, s, { dependency: 'b', event: ev('2') }, T0).state;
    const r = step(join, s, { dependency: 'b', event: ev('3') }, T0);
    assert.equal(r.fired, undefined);
    assert.deepEqual(Object.keys(r.state.events), ['b']);
  });
  it('unknown dependency ignored', () => {
    const join = createJoin(['a', 'b']);
    const s = initialJoinState(join, T0);
    assert.deepEqual(step(join, s, { dependency: 'zzz', event: ev('1') }, T0).state, s);
  });
  it('state is JSON-serialisable', () => {
    const join = createJoin(['a', 'b']);
    const s = step(
      join,
      initialJoinState(join, T0),
      { dependency: 'a', event: ev('1', '2026-01-01T10:00:00Z') },
      T0,
    ).state;
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });
  it('initial lastReset is previous cron time', () => {
    const join = createJoin(['a'], undefined, [{ byTime: { cron: '0 * * * *' } }]);
    assert.equal(initialJoinState(join, T0 + 30 * 60_000).lastResetMs, T0);
  });
  it('events older than the last reset are ignored', () => {
    const join = createJoin(['a', 'b'], undefined, [{ byTime: { cron: '0 * * * *' } }]);
    const s = initialJoinState(join, T0 + 60_000);
    const r = step(
      join,
      s,
      { dependency: 'a', event: ev('1', '2026-01-01T09:59:00Z') },
      T0 + 60_000,
    );
    assert.deepEqual(r.state.events, {});
  });
  it('cron reset drops partial state', () => {
    const join = createJoin(['a', 'b'], undefined, [{ byTime: { cron: '0 * * * *' } }]);
    let s = initialJoinState(join, T0 + 60_000);
    s = step(
      join,
      s,
      { dependency: 'a', event: ev('1', '2026-01-01T10:01:00Z') },
      T0 + 60_000,
    ).state;
    assert.deepEqual(Object.keys(s.events), ['a']);
    const after = T0 + 61 * 60_000;
    const r = step(join, s, { dependency: 'b', event: ev('2', '2026-01-01T11:01:00Z') }, after);
    assert.equal(r.fired, undefined);
    assert.equal(r.state.lastResetMs, T0 + 60 * 60_000);
    assert.deepEqual(Object.keys(r.state.events), ['b']);
  });
  it('applyReset keeps state when no reset passed', () => {
    const join = createJoin(['a'], undefined, [{ byTime: { cron: '0 0 * * *', timezone: 'UTC' } }]);
    const s = { lastResetMs: Date.parse('2026-01-01T00:00:00Z'), events: { a: ev('1') } };
    const r = applyReset(s, join.resets, T0);
    assert.deepEqual(r.events, s.events);
    assert.equal(r.lastResetMs, s.lastResetMs);
    assert.equal(r.nextResetMs, Date.parse('2026-01-02T00:00:00Z'));
  });
  it('cached next reset skips the search until it is due', () => {
    const join = createJoin(['a', 'b'], undefined, [{ byTime: { cron: '0 * * * *' } }]);
    const s = initialJoinState(join, T0 + 60_000);
    assert.equal(s.nextResetMs, T0 + 3_600_000);
    const partial = step(join, s, { dependency: 'a', event: ev('1') }, T0 + 120_000).state;
    assert.equal(applyReset(partial, join.resets, T0 + 3_599_999), partial);
    assert.deepEqual(applyReset(partial, join.resets, T0 + 3_600_000).events, {});
  });
  it('CRON_TZ in reset cron overrides timezone', () => {
    const join = createJoin(['a'], undefined, [
      { byTime: { cron: 'CRON_TZ=Asia/Tokyo 0 9 * * *', timezone: 'UTC' } },
    ]);
    assert.equal(initialJoinState(join, T0).lastResetMs, Date.parse('2026-01-01T00:00:00Z'));
  });
  it('reset timezone shifts the reset instant', () => {
    const join = createJoin(['a'], undefined, [
      { byTime: { cron: '0 9 * * *', timezone: 'America/New_York' } },
    ]);
    assert.equal(initialJoinState(join, T0).lastResetMs, Date.parse('2025-12-31T14:00:00Z'));
  });
  it('bad reset cron rejected', () =>
    assert.throws(() => createJoin(['a'], undefined, [{ byTime: { cron: 'nope' } }]), /cron/));
  it('bad reset timezone rejected', () =>
    assert.throws(
      () => createJoin(['a'], undefined, [{ byTime: { cron: '@daily', timezone: 'No/Where' } }]),
      /time zone/,
    ));
});
