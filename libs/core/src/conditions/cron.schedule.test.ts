import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkTimezone, CronSyntaxError, nextFire, parseCron, previousFire } from './cron.parser.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('cron', () => {
  const next: Array<[string, string, string, string, string]> = [
    ['every minute', '* * * * *', '', '2026-01-01T10:00:30Z', '2026-01-01T10:01:00.000Z'],
    ['hourly descriptor', '@hourly', '', '2026-01-01T10:00:00Z', '2026-01-01T11:00:00.000Z'],
    ['daily descriptor', '@daily', '', '2026-01-01T10:00:00Z', '2026-01-02T00:00:00.000Z'],
    ['step minutes', '*/15 * * * *', '', '2026-01-01T10:16:00Z', '2026-01-01T10:30:00.000Z'],
    ['range and list', '0 9-17/4,20 * * *', '', '2026-01-01T13:30:00Z', '2026-01-01T17:00:00.000Z'],
    ['weekday names', '0 0 * * MON-FRI', '', '2026-01-03T12:00:00Z', '2026-01-05T00:00:00.000Z'],
    ['month names', '0 0 1 jan,jul *', '', '2026-02-01T00:00:00Z', '2026-07-01T00:00:00.000Z'],
    ['dom or dow when both restricted', '0 0 13 * FRI', '', '2026-02-01T00:00:00Z', '2026-02-06T00:00:00.000Z'],
    ['dom and dow when dow is star', '0 0 31 * *', '', '2026-02-01T00:00:00Z', '2026-03-31T00:00:00.000Z'],
    ['timezone', '0 9 * * *', 'America/New_York', '2026-01-01T00:00:00Z', '2026-01-01T14:00:00.000Z'],
    ['timezone summer offset', '0 9 * * *', 'America/New_York', '2026-07-01T00:00:00Z', '2026-07-01T13:00:00.000Z'],
    ['dst gap skipped', '30 2 * * *', 'America/New_York', '2026-03-08T00:00:00Z', '2026-03-09T06:30:00.000Z'],
    ['year rollover', '@yearly', 'Asia/Tokyo', '2026-06-01T00:00:00Z', '2026-12-31T15:00:00.000Z'],
  ];
  for (const [name, cron, tz, now, want] of next) it(`next: ${name}`, () => assert.equal(iso(nextFire(parseCron(cron), tz, at(now))), want));
  const prev: Array<[string, string, string, string, string]> = [
    ['exactly at fire time', '0 * * * *', '', '2026-01-01T10:00:00Z', '2026-01-01T10:00:00.000Z'],
    ['previous hour', '0 * * * *', '', '2026-01-01T10:59:59Z', '2026-01-01T10:00:00.000Z'],
    ['previous month', '0 0 1 * *', '', '2026-03-15T00:00:00Z', '2026-03-01T00:00:00.000Z'],
    ['previous midnight in tz', '@midnight', 'Europe/Berlin', '2026-01-01T12:00:00Z', '2025-12-31T23:00:00.000Z'],
    ['previous sunday', '0 0 * * 0', '', '2026-01-07T00:00:00Z', '2026-01-04T00:00:00.000Z'],
  ];
  for (const [name, cron, tz, now, want] of prev) it(`previous: ${name}`, () => assert.equal(iso(previousFire(parseCron(cron), tz, at(now))), want));
  it('CRON_TZ prefix', () => assert.equal(parseCron('CRON_TZ=Asia/Tokyo 0 9 * * *').timezone, 'Asia/Tokyo'));
  it('CRON_TZ prefix with unknown zone', () => assert.throws(() => parseCron('CRON_TZ=Nope/Zone 0 9 * * *'), CronSyntaxError));
  it('impossible date never fires', () => assert.equal(nextFire(parseCron('0 0 30 feb *'), '', 0), undefined));
  const bad: Array<[string, string]> = [
    ['four fields', '* * * *'],
    ['six fields', '0 * * * * *'],
    ['minute out of range', '60 * * * *'],
    ['bad name', '0 0 * FOO *'],
    ['zero step', '*/0 * * * *'],
    ['backwards range', '0 5-2 * * *'],
    ['unknown descriptor', '@fortnightly'],
    ['dow 7', '0 0 * * 7'],
  ];
  for (const [name, cron] of bad) it(`rejects ${name}`, () => assert.throws(() => parseCron(cron), CronSyntaxError));
  it('rejects unknown timezone', () => assert.throws(() => checkTimezone('Mars/Olympus'), CronSyntaxError));
  it('fuzz: random cron strings parse or throw CronSyntaxError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 30 }), fc.stringMatching(/^[0-9*/, -]{0,20}$/)), (s) => {
        try {
          const c = parseCron(s);
          nextFire(c, '', 0);
        } catch (e) {
          assert.ok(e instanceof CronSyntaxError && e.message.length > 0);
        }
      }),
      { numRuns: 300 },
    );
  });
});
