import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  backoffDelays,
  BackoffError,
  cappedDoubling,
  DEFAULT_BACKOFF,
  nextDelay,
  parseBackoff,
} from './backoff.js';

describe('backoff', () => {
  it('nil backoff is DefaultBackoff', () =>
    assert.deepEqual(parseBackoff(undefined), DEFAULT_BACKOFF));
  it('default backoff constant', () =>
    assert.deepEqual({ ...DEFAULT_BACKOFF }, { durationMs: 1000, factor: 1, jitter: 1, steps: 5 }));
  it('int duration is nanoseconds', () =>
    assert.equal(parseBackoff({ duration: 2_000_000_000 }).durationMs, 2000));
  it('string duration', () => assert.equal(parseBackoff({ duration: '250ms' }).durationMs, 250));
  it('quoted int duration is nanoseconds', () =>
    assert.equal(parseBackoff({ duration: '1000000' }).durationMs, 1));
  it('missing duration defaults to 1s', () =>
    assert.equal(parseBackoff({ steps: 3 }).durationMs, 1000));
  it('string factor and jitter', () =>
    assert.deepEqual(parseBackoff({ duration: '1s', factor: '2', jitter: '0.5', steps: 3 }), {
      durationMs: 1000,
      factor: 2,
      jitter: 0.5,
      steps: 3,
    }));
  it('zero steps is one attempt', () =>
    assert.deepEqual(
      backoffDelays(parseBackoff({ steps: 0 }), () => 0),
      [],
    ));
  it('bad duration', () =>
    assert.throws(() => parseBackoff({ duration: 'soon' }), /is not a duration/));
  it('negative factor', () => assert.throws(() => parseBackoff({ factor: -1 }), BackoffError));
  it('exponential without jitter', () =>
    assert.deepEqual(
      backoffDelays(parseBackoff({ duration: '1s', factor: 2, steps: 4 }), () => 0.9),
      [1000, 2000, 4000],
    ));
  it('factor zero keeps constant delay', () =>
    assert.deepEqual(
      backoffDelays(parseBackoff({ duration: '1s', factor: 0, steps: 3 }), () => 0),
      [1000, 1000],
    ));
  it('jitter adds up to jitter*d', () =>
    assert.deepEqual(
      backoffDelays(DEFAULT_BACKOFF, () => 0.5),
      [1500, 1500, 1500, 1500],
    ));
  it('exhausted steps give undefined', () =>
    assert.equal(
      nextDelay(DEFAULT_BACKOFF, 4, () => 0),
      undefined,
    ));
});

describe('capped doubling', () => {
  const cases: [string, number, number, number[], number[]][] = [
    [
      '1 s doubling to 30 s',
      1000,
      30_000,
      [1, 2, 3, 4, 5, 6, 7, 50],
      [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000],
    ],
    ['a cap between two doublings is reached', 200, 5000, [1, 5, 6, 7], [200, 3200, 5000, 5000]],
    ['a cap on a doubling', 5, 640, [7, 8, 9], [320, 640, 640]],
    ['attempt 0 and below count as the first', 100, 5000, [0, -3], [100, 100]],
    ['no overflow after very many attempts', 1, 60_000, [1_000_000], [60_000]],
    ['zero initial stays zero', 0, 1000, [1, 2, 2000], [0, 0, 0]],
    ['initial equal to the cap', 1000, 1000, [1, 2], [1000, 1000]],
  ];
  for (const [name, initialMs, maxMs, attempts, delays] of cases)
    it(name, () =>
      assert.deepEqual(
        attempts.map((a) => cappedDoubling(initialMs, maxMs, a)),
        delays,
      ),
    );
});
