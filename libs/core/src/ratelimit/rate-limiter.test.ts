import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createRateLimiter,
  initialRateLimitState,
  RateLimitError,
  take,
  type RateLimitState,
} from './rate-limiter.js';

describe('rate limiter', () => {
  it('first request passes', () => {
    const l = createRateLimiter({ unit: 'Second', requestsPerUnit: 2 });
    assert.equal(take(l, initialRateLimitState(), 0).waitMs, 0);
  });
  it('back-to-back requests are spaced (blocks, never drops)', () => {
    const l = createRateLimiter({ unit: 'Second', requestsPerUnit: 2 });
    let s: RateLimitState = initialRateLimitState();
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = take(l, s, 0);
      s = r.state;
      waits.push(r.waitMs);
    }
    assert.deepEqual(waits, [0, 500, 1000]);
  });
  it('minute unit', () =>
    assert.equal(createRateLimiter({ unit: 'Minute', requestsPerUnit: 6 }).perRequestMs, 10_000));
  it('hour unit', () =>
    assert.equal(createRateLimiter({ unit: 'Hour', requestsPerUnit: 1 }).perRequestMs, 3_600_000));
  it('unit defaults to Second', () =>
    assert.equal(createRateLimiter({ requestsPerUnit: 4 }).perRequestMs, 250));
  it('idle time banks at most slack requests', () => {
    const l = createRateLimiter({ unit: 'Second', requestsPerUnit: 1 });
    let s = take(l, initialRateLimitState(), 0).state;
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = take(l, s, 100_000);
      s = r.state;
      waits.push(r.waitMs);
    }
    assert.deepEqual(waits.slice(0, 11), Array(11).fill(0));
    assert.equal(waits[11], 1000);
  });
  it('steady rate never waits', () => {
    const l = createRateLimiter({ unit: 'Second', requestsPerUnit: 10 });
    let s = initialRateLimitState();
    for (let t = 0; t < 2000; t += 100) {
      const r = take(l, s, t);
      assert.equal(r.waitMs, 0);
      s = r.state;
    }
  });
  it('rejects zero rate', () =>
    assert.throws(() => createRateLimiter({ requestsPerUnit: 0 }), RateLimitError));
  it('rejects unknown unit', () =>
    assert.throws(
      () => createRateLimiter({ unit: 'Day' as 'Hour', requestsPerUnit: 1 }),
      RateLimitError,
    ));
});
