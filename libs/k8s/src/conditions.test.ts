import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isReady, jsonEqual, mergeConditions, nextStatus } from './conditions.js';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T00:05:00Z');

test('conditions: a new condition gets the transition time, sorted by type', () => {
  const c = mergeConditions(
    undefined,
    [
      { type: 'Deployed', status: 'True', reason: 'Published' },
      { type: 'Configured', status: 'False', reason: 'InvalidSpec', message: 'spec: x' },
    ],
    t0,
  );
  assert.deepEqual(
    c.map((x) => x.type),
    ['Configured', 'Deployed'],
  );
  assert.equal(c[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
});

test('conditions: the transition time stays while the status does not change, even if the message does', () => {
  const first = mergeConditions(
    undefined,
    [{ type: 'Deployed', status: 'False', reason: 'A', message: 'one' }],
    t0,
  );
  const same = mergeConditions(
    first,
    [{ type: 'Deployed', status: 'False', reason: 'B', message: 'two' }],
    t1,
  );
  assert.equal(same[0]!.lastTransitionTime, first[0]!.lastTransitionTime);
  const flipped = mergeConditions(first, [{ type: 'Deployed', status: 'True', reason: 'A' }], t1);
  assert.equal(flipped[0]!.lastTransitionTime, '2026-01-01T00:05:00Z');
});

test('conditions: nextStatus is undefined for an unchanged status (no write)', () => {
  const desired = [
    { type: 'Deployed', status: 'True' as const, reason: 'Published', message: 'ok' },
  ];
  const s = nextStatus(undefined, desired, 3, t0)!;
  assert.equal(s.observedGeneration, 3);
  assert.equal(nextStatus(s, desired, 3, t1), undefined);
  assert.ok(nextStatus(s, desired, 4, t1), 'a new generation is observed');
  assert.ok(isReady(s));
  assert.ok(!isReady({ conditions: [] }));
});

test('jsonEqual ignores key order and undefined members', () => {
  assert.ok(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1, d: undefined }));
  assert.ok(!jsonEqual({ a: [1, 2] }, { a: [2, 1] }));
});
