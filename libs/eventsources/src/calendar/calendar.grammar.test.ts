/**
 * One grammar per language, for the calendar source: a schedule, interval or time zone that
 * admission (`validateResource`) accepts is one the runtime (`compileCalendar`) can schedule,
 * and the other way round.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateResource, type CalendarEventSource } from '@ganglion/api';
import { compileCalendar } from './calendar.schedule.js';

const admitted = (calendar: CalendarEventSource): boolean =>
  !validateResource({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'EventSource',
    metadata: { name: 'es' },
    spec: { calendar: { a: calendar } },
  }).some((i) => i.severity === 'error');
const schedules = (calendar: CalendarEventSource): boolean => {
  try {
    return compileCalendar(calendar).next(Date.parse('2026-11-23T10:00:00Z')) !== undefined;
  } catch {
    return false;
  }
};

const SCHEDULES = [
  '*/15 9-17 * * MON-FRI',
  '0 0 1 jan,jul ?',
  '@hourly',
  '@daily',
  '@every 1h30m',
  '@every 90s',
  'CRON_TZ=Asia/Tokyo 0 9 * * *',
  '61 * * * *',
  '* * *',
  '@HOURLY',
  '@every',
  '@every 1d',
  '@every 0s',
  '*/0 * * * *',
];
const INTERVALS = [
  '10s',
  '1h30m',
  '1.5h',
  '500ms',
  '1ms',
  '10',
  '1d',
  'soon',
  '1 s',
  '0',
  '0s',
  '-5s',
  '500us',
];
const TIMEZONES = ['UTC', 'America/New_York', 'Mars/Olympus', 'Local'];

describe('calendar: admission and run time agree', () => {
  for (const schedule of SCHEDULES)
    it(`schedule ${JSON.stringify(schedule)}`, () =>
      assert.equal(admitted({ schedule }), schedules({ schedule })));
  for (const interval of INTERVALS)
    it(`interval ${JSON.stringify(interval)}`, () =>
      assert.equal(admitted({ interval }), schedules({ interval })));
  for (const timezone of TIMEZONES)
    it(`timezone ${JSON.stringify(timezone)}`, () =>
      assert.equal(
        admitted({ schedule: '0 9 * * *', timezone }),
        schedules({ schedule: '0 9 * * *', timezone }),
      ));

  it('@every 1h30m is scheduled: ticks 90 minutes apart', () => {
    const s = compileCalendar({ schedule: '@every 1h30m', timezone: 'Europe/Paris' });
    let t = Date.parse('2026-11-23T10:00:00Z');
    const ticks: number[] = [];
    for (let i = 0; i < 4; i++) ticks.push((t = s.next(t)!));
    assert.deepEqual(
      ticks.map((x) => new Date(x).toISOString()),
      [
        '2026-11-23T10:30:00.000Z',
        '2026-11-23T12:00:00.000Z',
        '2026-11-23T13:30:00.000Z',
        '2026-11-23T15:00:00.000Z',
      ],
    );
  });
  it('@every d and interval d give the same ticks', () => {
    const after = Date.parse('2026-11-23T10:00:03.500Z');
    assert.equal(
      compileCalendar({ schedule: '@every 10s' }).next(after),
      compileCalendar({ interval: '10s' }).next(after),
    );
  });
});
