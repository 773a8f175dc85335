/**
 * One grammar per language: the same inputs go to admission (`validateResource`, and the
 * `check*` helpers it uses) and to the runtime (the sensor's `compileSensor`/join, the time
 * filter, the cron fire-time search), and both must give the same verdict.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkCron,
  checkDuration,
  checkRegex,
  checkTimeOfDay,
  checkTimezone,
  parseConditionNames,
  parseGoDuration,
  validateResource,
  type Sensor,
} from '@ganglion/api';
import { nextFire } from './conditions/cron.schedule.js';
import { evaluateTimeFilter } from './filters/context-time.filter.js';
import { evaluateDataFilters } from './filters/data.filter.js';
import { compileSensor } from './sensor-match.js';
import { parseBackoff } from './backoff/backoff.js';

const sensor = (template: object, filters?: object): Sensor =>
  ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Sensor',
    metadata: { name: 's' },
    spec: {
      dependencies: ['d', 'e', 'a.b', 'c_d', 'dep-04'].map((name) => ({
        name,
        eventSourceName: 'es',
        eventName: name,
        ...(filters ? { filters } : {}),
      })),
      triggers: [{ template: { name: 't', log: {}, conditions: 'd && e', ...template } }],
    },
  }) as unknown as Sensor;

/** Admission: no error issue at or below `path`. */
const admitted = (doc: Sensor, path: string): boolean =>
  !validateResource(doc).some((i) => i.severity === 'error' && i.path.startsWith(path));
/** The sensor's runtime: the trigger compiles (condition, join, resets). */
const compiles = (doc: Sensor): boolean =>
  compileSensor(doc, 'ns').triggers[0]!.error === undefined;
const verdict = (f: () => unknown): boolean => {
  try {
    f();
    return true;
  } catch {
    return false;
  }
};

const CRON = [
  '* * * * *',
  '*/15 9-17 * * MON-FRI',
  '0 0,12 1 JAN,jul ?',
  '0 9-17/4,20 * * *',
  '50/5 * * * *',
  '? ? ? ? ?',
  '0 0 13 * FRI',
  'CRON_TZ=Europe/Paris 0 8 * * *',
  'TZ=UTC 0 8 * * *',
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@midnight',
  '@hourly',
  '@every 1h30m',
  '@every 10s',
  '@every 1.5s',
  '@every 300ms',
  'CRON_TZ=Asia/Tokyo @every 5m',
  '',
  '* * *',
  '0 0 * * * *',
  '60 * * * *',
  '0 24 * * *',
  '0 0 0 * *',
  '0 0 * 13 *',
  '0 0 * * 7',
  '0 0 1 FOO *',
  '0 5-3 * * *',
  '*/0 * * * *',
  '*/x * * * *',
  '1-2-3 * * * *',
  '*/2/3 * * * *',
  '1,,2 * * * *',
  '@sometimes',
  '@HOURLY',
  '@every',
  '@every 1d',
  '@every 0s',
  '@every -1m',
  '@every soon',
  'CRON_TZ=Nowhere/Land * * * * *',
];
const TIMEZONES = [
  '',
  'UTC',
  'Europe/Paris',
  'America/New_York',
  'Asia/Kolkata',
  'Etc/GMT+5',
  'Mars/Olympus',
  'Local',
  ' UTC',
  'UTC+1',
  'Europe/',
];
const CONDITIONS = [
  'd',
  'd && e',
  'd || e',
  '(d || e) && dep-04',
  'a.b && c_d',
  '((d))',
  'd && e || a.b',
  '',
  '   ',
  'd &&',
  '(d && e',
  'd e',
  '!d',
  'd & e',
  'd)',
  '-d',
  'd && zz',
  '()',
];
const DURATIONS = [
  '0',
  '-0',
  '10s',
  '1h30m',
  '1.5h',
  '.5s',
  '1.s',
  '500ms',
  '10us',
  '10µs',
  '-1m',
  '+2s',
  '',
  '10',
  '1d',
  '1 s',
  ' 1s',
  '-',
  '.s',
  '1hh',
  '3000000h',
  'soon',
];
const REGEXES = [
  '(?i)^push$',
  '^refs/heads/(main|release-.*)$',
  '\\pL+',
  '[[:alpha:]]+',
  '\\Qa.b\\E',
  '(?P<n>x)',
  'a{2,3}',
  '(unclosed',
  '(?<=a)b',
  '(?!x)',
  'a**',
  '\\1',
  '[z-a]',
  'x{1001}',
];
const TIMES = [
  '02:30:00',
  '9:05:59',
  '23:59:59',
  '00:00:00',
  '24:00:00',
  '10:00',
  '10:0:00',
  '1:2:3',
  'noon',
  '',
];

describe('one grammar per language: admission and run time agree', () => {
  for (const cron of CRON)
    it(`cron ${JSON.stringify(cron)}`, () => {
      const doc = sensor({ conditionsReset: [{ byTime: { cron } }] });
      const runtime =
        compiles(doc) &&
        verdict(() =>
          nextFire(compileSensor(doc, 'ns').triggers[0]!.join!.resets[0]!.schedule, '', 0),
        );
      assert.equal(
        admitted(doc, 'spec.triggers[0].template.conditionsReset'),
        runtime,
        `admission vs runtime for ${cron}`,
      );
      assert.equal(checkCron(cron) === undefined, runtime, `checkCron vs runtime for ${cron}`);
    });
  for (const timezone of TIMEZONES)
    it(`time zone ${JSON.stringify(timezone)}`, () => {
      const doc = sensor({ conditionsReset: [{ byTime: { cron: '@hourly', timezone } }] });
      const runtime = compiles(doc);
      assert.equal(admitted(doc, 'spec.triggers[0].template.conditionsReset'), runtime);
      assert.equal(checkTimezone(timezone) === undefined, runtime);
      const filter = sensor({}, { time: { start: '00:00:00', stop: '12:00:00', timezone } });
      assert.equal(
        admitted(filter, 'spec.dependencies'),
        !(
          'error' in
          evaluateTimeFilter({ start: '00:00:00', stop: '12:00:00', timezone }, new Date(0))
        ),
      );
    });
  for (const conditions of CONDITIONS)
    it(`conditions ${JSON.stringify(conditions)}`, () => {
      const doc = sensor({ conditions });
      const runtime = compiles(doc);
      assert.equal(admitted(doc, 'spec.triggers[0].template.conditions'), runtime);
      // Blank conditions mean "all dependencies" to both; the syntax helper itself sees an empty expression.
      if (conditions.trim() !== '' && !conditions.includes('zz'))
        assert.equal(!('error' in parseConditionNames(conditions)), runtime);
    });
  for (const d of DURATIONS)
    it(`Go duration ${JSON.stringify(d)}`, () =>
      assert.equal(
        checkDuration(d) === undefined,
        verdict(() => parseGoDuration(d)),
      ));
  for (const re of REGEXES)
    it(`RE2 regular expression ${JSON.stringify(re)}`, () => {
      const data = [{ path: 'a', type: 'string' as const, value: [re] }];
      const runtime = !(
        'error' in evaluateDataFilters(data, { a: 'push' }, 'and', { now: () => new Date(0) })
      );
      assert.equal(admitted(sensor({}, { data }), 'spec.dependencies'), runtime);
      assert.equal(checkRegex(re) === undefined, runtime);
    });
  for (const t of TIMES)
    it(`time of day ${JSON.stringify(t)}`, () => {
      const doc = sensor({}, { time: { start: t, stop: '23:00:00' } });
      const runtime = !('error' in evaluateTimeFilter({ start: t, stop: '23:00:00' }, new Date(0)));
      assert.equal(admitted(doc, 'spec.dependencies'), runtime);
      assert.equal(checkTimeOfDay(t) === undefined, runtime);
    });
});

describe('retryStrategy.duration: admission and the trigger backoff agree', () => {
  const RETRY = [
    '1s',
    '500ms',
    '1500000000',
    ' 1s',
    '-1s',
    '-0',
    '0',
    'soon',
    '1d',
    '1.5h',
    '2h45m',
  ];
  for (const duration of RETRY)
    it(`retryStrategy.duration ${JSON.stringify(duration)}`, () => {
      const doc = sensor({});
      (doc.spec.triggers[0] as { retryStrategy?: object }).retryStrategy = { steps: 2, duration };
      assert.equal(
        admitted(doc, 'spec.triggers[0]'),
        verdict(() => parseBackoff({ duration, steps: 2 })),
      );
    });
});
