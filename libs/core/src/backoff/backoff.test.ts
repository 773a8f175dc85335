import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseGoDuration, DurationSyntaxError } from './go-duration.parser.js';
import { backoffDelays, BackoffError, DEFAULT_BACKOFF, nextDelay, parseBackoff } from './backoff.js';

describe('parseGoDuration', () => {
  const ok: Array<[string, string, number]> = [
    ['seconds', '1s', 1e9],
    ['zero', '0', 0],
    ['millis', '300ms', 300e6],
    ['compound', '2h45m', (2 * 3600 + 45 * 60) * 1e9],
    ['fraction', '1.5h', 5400e9],
    ['leading dot', '.5s', 5e8],
    ['negative', '-1m', -60e9],
    ['micro sign', '10µs', 10e3],
    ['nanos', '7ns', 7],
  ];
  for (const [name, input, ns] of ok) it(name, () => assert.equal(parseGoDuration(input), ns));
  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['missing unit', '10'],
    ['unknown unit', '1d'],
    ['only sign', '-'],
    ['dot only', '.s'],
  ];
  for (const [name, input] of bad) it(`rejects ${name}`, () => assert.throws(() => parseGoDuration(input), DurationSyntaxError));
  it('fuzz: random strings parse or throw DurationSyntaxError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (s) => {
        try {
          assert.equal(typeof parseGoDuration(s), 'number');
        } catch (e) {
          assert.ok(e instanceof DurationSyntaxError && e.message.length > 0);
        }
      }),
    );
  });
});

describe('backoff', () => {
  it('nil backoff is DefaultBackoff', () => assert.deepEqual(parseBackoff(undefined), DEFAULT_BACKOFF));
  it('default backoff constant', () => assert.deepEqual({ ...DEFAULT_BACKOFF }, { durationMs: 1000, factor: 1, jitter: 1, steps: 5 }));
  it('int duration is nanoseconds', () => assert.equal(parseBackoff({ duration: 2_000_000_000 }).durationMs, 2000));
  it('string duration', () => assert.equal(parseBackoff({ duration: '250ms' }).durationMs, 250));
  it('quoted int duration is nanoseconds', () => assert.equal(parseBackoff({ duration: '1000000' }).durationMs, 1));
  it('missing duration defaults to 1s', () => assert.equal(parseBackoff({ steps: 3 }).durationMs, 1000));
  it('string factor and jitter', () => assert.deepEqual(parseBackoff({ duration: '1s', factor: '2', jitter: '0.5', steps: 3 }), { durationMs: 1000, factor: 2, jitter: 0.5, steps: 3 }));
  it('zero steps is one attempt', () => assert.deepEqual(backoffDelays(parseBackoff({ steps: 0 }), () => 0), []));
  it('bad duration', () => assert.throws(() => parseBackoff({ duration: 'soon' }), /invalid duration/));
  it('negative factor', () => assert.throws(() => parseBackoff({ factor: -1 }), BackoffError));
  it('exponential without jitter', () => assert.deepEqual(backoffDelays(parseBackoff({ duration: '1s', factor: 2, steps: 4 }), () => 0.9), [1000, 2000, 4000]));
  it('factor zero keeps constant delay', () => assert.deepEqual(backoffDelays(parseBackoff({ duration: '1s', factor: 0, steps: 3 }), () => 0), [1000, 1000]));
  it('jitter adds up to jitter*d', () => assert.deepEqual(backoffDelays(DEFAULT_BACKOFF, () => 0.5), [1500, 1500, 1500, 1500]));
  it('exhausted steps give undefined', () => assert.equal(nextDelay(DEFAULT_BACKOFF, 4, () => 0), undefined));
});
