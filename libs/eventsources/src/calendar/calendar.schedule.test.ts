import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileCalendar, goTimeString } from './calendar.schedule.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (t: number | undefined): string | undefined =>
  t === undefined ? undefined : new Date(t).toISOString();

describe('calendar schedule', () => {
  it('5-field cron: next tick strictly after the given time', () => {
    const s = compileCalendar({ schedule: '*/15 9-17 * * MON-FRI' });
    assert.equal(iso(s.next(at('2026-11-23T09:00:00Z'))), '2026-11-23T09:15:00.000Z');
    assert.equal(iso(s.next(at('2026-11-23T17:45:00Z'))), '2026-11-24T09:00:00.000Z');
    assert.equal(iso(s.next(at('2026-11-27T17:50:00Z'))), '2026-11-30T09:00:00.000Z');
  });

  it('timezone: the schedule is read in the zone', () => {
    const s = compileCalendar({ schedule: '0 9 * * *', timezone: 'America/New_York' });
    assert.equal(iso(s.next(at('2026-11-23T00:00:00Z'))), '2026-11-23T14:00:00.000Z');
    const summer = compileCalendar({ schedule: '0 9 * * *', timezone: 'America/New_York' });
    assert.equal(iso(summer.next(at('2026-07-01T00:00:00Z'))), '2026-07-01T13:00:00.000Z');
  });

  it('interval: ticks aligned to multiples since the epoch (same on every replica)', () => {
    const s = compileCalendar({ interval: '10s' });
    assert.equal(iso(s.next(at('2026-11-23T10:00:03.500Z'))), '2026-11-23T10:00:10.000Z');
    assert.equal(iso(s.next(at('2026-11-23T10:00:10Z'))), '2026-11-23T10:00:20.000Z');
  });

  it('exclusionDates skip whole days in the zone', () => {
    const s = compileCalendar({
      schedule: '0 12 * * *',
      exclusionDates: ['2026-12-25T00:00:00Z', '2026-12-26T00:00:00+01:00'],
    });
    assert.equal(iso(s.next(at('2026-12-24T13:00:00Z'))), '2026-12-27T12:00:00.000Z');
  });

  it('rejects a missing schedule, a bad cron, a bad zone and a bad duration', () => {
    assert.throws(() => compileCalendar({}), /schedule or an interval/);
    assert.throws(() => compileCalendar({ schedule: '61 * * * *' }));
    assert.throws(() => compileCalendar({ schedule: '* * * * *', timezone: 'Mars/Olympus' }));
    assert.throws(() => compileCalendar({ interval: 'soon' }));
  });

  it("eventTime is Go's time.String()", () => {
    assert.equal(goTimeString(at('2026-11-23T10:00:00Z'), 'UTC'), '2026-11-23 10:00:00 +0000 UTC');
    assert.equal(
      goTimeString(at('2026-11-23T14:00:00Z'), 'America/New_York'),
      '2026-11-23 09:00:00 -0500 EST',
    );
    assert.equal(
      goTimeString(at('2026-11-23T10:00:00.250Z'), 'UTC'),
      '2026-11-23 10:00:00.25 +0000 UTC',
    );
  });
});
