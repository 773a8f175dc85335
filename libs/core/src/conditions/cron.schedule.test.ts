import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CronSyntaxError, parseCron, TimezoneError } from '@ganglion/api';
import { nextFire, previousFire, wallClock } from './cron.schedule.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

describe('cron', () => {
  const next: Array<[string, string, string, string, string]> = [
    ['every minute', '* * * * *', '', '2026-01-01T10:00:30Z', '2026-01-01T10:01:00.000Z'],
    ['hourly descriptor', '@hourly', '', '2026-01-01T10:00:00Z', '2026-01-01T11:00:00.000Z'],
    ['daily descriptor', '@daily', '', '2026-01-01T10:00:00Z', '2026-01-02T00:00:00.000Z'],
    ['step minutes', '*/15 * * * *', '', '2026-01-01T10:16:00Z', '2026-01-01T10:30:00.000Z'],
    ['range and list', '0 9-17/4,20 * * *', '', '2026-01-01T13:30:00Z', '2026-01-01T17:00:00.000Z'],
    ['weekday names', '0 0 * * MON-FRI', '', '2026-01-03T12:00:00Z', '2026-01-05T00:00:00.000Z'],
    ['month names', '0 0 1 jan,jul *', '', '2026-02-01T00:00:00Z', '2026-07-01T00:00:00.000Z'],
    [
      'dom or dow when both restricted',
      '0 0 13 * FRI',
      '',
      '2026-02-01T00:00:00Z',
      '2026-02-06T00:00:00.000Z',
    ],
    [
      'dom and dow when dow is star',
      '0 0 31 * *',
      '',
      '2026-02-01T00:00:00Z',
      '2026-03-31T00:00:00.000Z',
    ],
    [
      'timezone',
      '0 9 * * *',
      'America/New_York',
      '2026-01-01T00:00:00Z',
      '2026-01-01T14:00:00.000Z',
    ],
    [
      'timezone summer offset',
      '0 9 * * *',
      'America/New_York',
      '2026-07-01T00:00:00Z',
      '2026-07-01T13:00:00.000Z',
    ],
    [
      'dst gap skipped',
      '30 2 * * *',
      'America/New_York',
      '2026-03-08T00:00:00Z',
      '2026-03-09T06:30:00.000Z',
    ],
    ['year rollover', '@yearly', 'Asia/Tokyo', '2026-06-01T00:00:00Z', '2026-12-31T15:00:00.000Z'],
  ];
  for (const [name, cron, tz, now, want] of next)
    it(`next: ${name}`, () => assert.equal(iso(nextFire(parseCron(cron), tz, at(now))), want));
  const prev: Array<[string, string, string, string, string]> = [
    ['exactly at fire time', '0 * * * *', '', '2026-01-01T10:00:00Z', '2026-01-01T10:00:00.000Z'],
    ['previous hour', '0 * * * *', '', '2026-01-01T10:59:59Z', '2026-01-01T10:00:00.000Z'],
    ['previous month', '0 0 1 * *', '', '2026-03-15T00:00:00Z', '2026-03-01T00:00:00.000Z'],
    [
      'previous midnight in tz',
      '@midnight',
      'Europe/Berlin',
      '2026-01-01T12:00:00Z',
      '2025-12-31T23:00:00.000Z',
    ],
    ['previous sunday', '0 0 * * 0', '', '2026-01-07T00:00:00Z', '2026-01-04T00:00:00.000Z'],
  ];
  for (const [name, cron, tz, now, want] of prev)
    it(`previous: ${name}`, () =>
      assert.equal(iso(previousFire(parseCron(cron), tz, at(now))), want));
  it('impossible date never fires', () =>
    assert.equal(nextFire(parseCron('0 0 30 feb *'), '', 0), undefined));
  const every: Array<[string, string, string, string | undefined]> = [
    [
      '@every: next multiple of the interval since the epoch',
      '@every 1h30m',
      '2026-01-01T10:00:00Z',
      '2026-01-01T10:30:00.000Z',
    ],
    [
      '@every: strictly after a tick',
      '@every 10s',
      '2026-01-01T10:00:10Z',
      '2026-01-01T10:00:20.000Z',
    ],
    [
      '@every: sub-second rounds up to one second (robfig)',
      '@every 300ms',
      '2026-01-01T10:00:00.200Z',
      '2026-01-01T10:00:01.000Z',
    ],
  ];
  for (const [name, cron, now, want] of every)
    it(name, () => assert.equal(iso(nextFire(parseCron(cron), 'Asia/Tokyo', at(now))), want));
  it('@every: previous tick at or before now', () =>
    assert.equal(
      iso(previousFire(parseCron('@every 1h30m'), '', at('2026-01-01T10:29:59Z'))),
      '2026-01-01T09:00:00.000Z',
    ));
  it('@every: ticks are a fixed interval apart', () => {
    const s = parseCron('@every 7m');
    let t = at('2026-01-01T00:00:00Z');
    const ticks = [];
    for (let i = 0; i < 5; i++) ticks.push((t = nextFire(s, '', t)!));
    for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i]! - ticks[i - 1]!, 7 * 60_000);
  });
  it('wall clock in a zone', () =>
    assert.equal(
      iso(wallClock(at('2026-01-01T00:00:00Z'), 'Asia/Tokyo')),
      '2026-01-01T09:00:00.000Z',
    ));
  it('an unknown zone is a TimezoneError', () =>
    assert.throws(() => nextFire(parseCron('* * * * *'), 'Mars/Olympus', 0), TimezoneError));
  it('fuzz: random cron strings parse or throw CronSyntaxError', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 30 }), fc.stringMatching(/^[0-9*/, -]{0,20}$/)),
        (s) => {
          try {
            const c = parseCron(s);
            nextFire(c, '', 0);
          } catch (e) {
            assert.ok(e instanceof CronSyntaxError && e.message.length > 0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
