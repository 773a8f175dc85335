import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkCron,
  checkDateTime,
  checkDuration,
  checkTimeOfDay,
  checkTimezone,
  parseConditionNames,
} from './syntax.check.js';

const cron: [string, string, string | undefined][] = [
  ['every minute', '* * * * *', undefined],
  ['steps and ranges', '*/15 9-17 * * MON-FRI', undefined],
  ['lists and names', '0 0,12 1 JAN,jul ?', undefined],
  ['descriptor', '@daily', undefined],
  ['every duration', '@every 1h30m', undefined],
  ['CRON_TZ prefix', 'CRON_TZ=Europe/Paris 0 8 * * *', undefined],
  [
    'six fields',
    '0 0 * * * *',
    '"0 0 * * * *" has 6 fields; a cron schedule has 5 (minute hour day-of-month month day-of-week)',
  ],
  ['minute out of range', '60 * * * *', 'minute field "60": 60 is out of range 0-59'],
  ['bad month name', '0 0 1 FOO *', 'month field "FOO": "FOO" is not a valid value'],
  ['reversed range', '0 5-3 * * *', 'hour field "5-3": range start is after its end'],
  ['bad step', '*/x * * * *', 'minute field "*/x": step "x" is not a number'],
  [
    'unknown descriptor',
    '@sometimes',
    'unknown cron descriptor "@sometimes" (use @yearly, @monthly, @weekly, @daily, @hourly or @every <duration>)',
  ],
  [
    'bad CRON_TZ',
    'CRON_TZ=Nowhere/Land * * * * *',
    '"Nowhere/Land" is not a known IANA time zone (e.g. "UTC", "Europe/Paris", "America/New_York")',
  ],
];
for (const [name, spec, want] of cron)
  test(`cron: ${name}`, () => assert.equal(checkCron(spec), want));

const durations: [string, boolean][] = [
  ['10s', true],
  ['1h30m', true],
  ['1.5h', true],
  ['0', true],
  ['500ms', true],
  ['10', false],
  ['1d', false],
  ['', false],
];
for (const [d, ok] of durations)
  test(`duration: "${d}" ${ok ? 'parses' : 'is rejected'}`, () =>
    assert.equal(checkDuration(d) === undefined, ok));

test('timezone: IANA names pass, others fail', () => {
  assert.equal(checkTimezone('UTC'), undefined);
  assert.equal(checkTimezone('America/Los_Angeles'), undefined);
  assert.notEqual(checkTimezone('Mars/Olympus'), undefined);
});

test('time of day and date-time', () => {
  assert.equal(checkTimeOfDay('02:30:00'), undefined);
  assert.equal(checkTimeOfDay('9:05:59'), undefined);
  assert.equal(checkTimeOfDay('24:00:00'), '"24:00:00" is not a time of day "hh:mm:ss"');
  assert.equal(checkTimeOfDay('10:00'), '"10:00" is not a time of day "hh:mm:ss"');
  assert.equal(checkDateTime('2026-12-25T00:00:00Z'), undefined);
  assert.equal(
    checkDateTime('2026-12-25'),
    '"2026-12-25" is not an RFC 3339 date-time (e.g. "2026-12-25T00:00:00Z")',
  );
});

const conditions: [string, string, { names: string[] } | { error: string }][] = [
  ['single name', 'dep01', { names: ['dep01'] }],
  [
    'and/or with parentheses',
    '(dep01 || dep02) && dep-04',
    { names: ['dep01', 'dep02', 'dep-04'] },
  ],
  ['dots and underscores', 'a.b && c_d', { names: ['a.b', 'c_d'] }],
  ['empty', '   ', { error: 'is empty' }],
  ['dangling operator', 'a ||', { error: 'expected a dependency name or "(" at the end' }],
  ['unbalanced parenthesis', '(a && b', { error: 'expected ")" at the end' }],
  ['two names', 'a b', { error: 'expected && or || at position 3, got "b"' }],
  [
    'negation unsupported',
    '!a',
    { error: 'unexpected "!" at position 1; use dependency names, &&, || and parentheses' },
  ],
  [
    'single ampersand',
    'a & b',
    { error: 'unexpected "&" at position 3; use dependency names, &&, || and parentheses' },
  ],
];
for (const [name, expr, want] of conditions)
  test(`conditions: ${name}`, () => assert.deepEqual(parseConditionNames(expr), want));
