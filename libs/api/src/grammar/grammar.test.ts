import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ConditionSyntaxError,
  conditionDependencies,
  parseCondition,
} from './condition.grammar.js';
import { CronSyntaxError, parseCron } from './cron.grammar.js';
import {
  DurationSyntaxError,
  parseGoDuration,
  parseNanosOrGoDuration,
} from './go-duration.grammar.js';
import { parseTimeOfDay, TimeOfDaySyntaxError } from './time-of-day.grammar.js';
import { parseTimezone, TimezoneError } from './timezone.grammar.js';

describe('cron grammar', () => {
  it('five fields to sets', () => {
    const c = parseCron('0 9-17/4,20 * JAN,jul MON-FRI');
    assert.equal(c.kind, 'fields');
    if (c.kind !== 'fields') return;
    assert.deepEqual([...c.minutes], [0]);
    assert.deepEqual([...c.hours], [9, 13, 17, 20]);
    assert.deepEqual([...c.months], [1, 7]);
    assert.deepEqual([...c.dow], [1, 2, 3, 4, 5]);
    assert.equal(c.domStar, true);
    assert.equal(c.dowStar, false);
  });
  it('N/step means N through the maximum (robfig)', () => {
    const c = parseCron('50/5 * * * *');
    assert.deepEqual(c.kind === 'fields' && [...c.minutes], [50, 55]);
  });
  it('a step above 1 clears the star bit (robfig)', () => {
    const c = parseCron('0 0 */2 * MON');
    assert.equal(c.kind === 'fields' && c.domStar, false);
  });
  it('? is a star in any field (robfig)', () =>
    assert.equal(parseCron('? ? ? ? ?').kind, 'fields'));
  it('descriptors are 5-field schedules', () =>
    assert.deepEqual(parseCron('@hourly'), { ...parseCron('0 * * * *'), source: '@hourly' }));
  it('@every is a fixed interval in whole seconds', () => {
    assert.deepEqual(parseCron('@every 1h30m'), {
      kind: 'every',
      source: '@every 1h30m',
      intervalMs: 5_400_000,
    });
    const s = parseCron('@every 2.9s');
    assert.equal(s.kind === 'every' ? s.intervalMs : 0, 2000);
    const sub = parseCron('@every 10ms');
    assert.equal(sub.kind === 'every' ? sub.intervalMs : 0, 1000);
  });
  it('CRON_TZ / TZ prefix', () => {
    assert.equal(parseCron('CRON_TZ=Asia/Tokyo 0 9 * * *').timezone, 'Asia/Tokyo');
    assert.equal(parseCron('TZ=UTC @every 5m').timezone, 'UTC');
  });
  const bad: Array<[string, string, string]> = [
    [
      'four fields',
      '* * * *',
      '"* * * *" has 4 fields; a cron schedule has 5 (minute hour day-of-month month day-of-week)',
    ],
    [
      'six fields',
      '0 * * * * *',
      '"0 * * * * *" has 6 fields; a cron schedule has 5 (minute hour day-of-month month day-of-week)',
    ],
    [
      'empty',
      '',
      '"" has 0 fields; a cron schedule has 5 (minute hour day-of-month month day-of-week)',
    ],
    ['minute out of range', '60 * * * *', 'minute field "60": 60 is out of range 0-59'],
    ['dow 7', '0 0 * * 7', 'day-of-week field "7": 7 is out of range 0-6'],
    ['day of month 0', '0 0 0 * *', 'day-of-month field "0": 0 is out of range 1-31'],
    ['bad name', '0 0 * FOO *', 'month field "FOO": "FOO" is not a valid value'],
    ['weekday name in month field', '0 0 * MON *', 'month field "MON": "MON" is not a valid value'],
    ['zero step', '*/0 * * * *', 'minute field "*/0": step must be at least 1'],
    ['bad step', '*/x * * * *', 'minute field "*/x": step "x" is not a number'],
    ['two slashes', '*/2/3 * * * *', 'minute field "*/2/3" is malformed'],
    ['empty list item', '1,,2 * * * *', 'minute field "1,,2" is malformed'],
    ['three bounds', '1-2-3 * * * *', 'minute field "1-2-3" is malformed'],
    ['backwards range', '0 5-2 * * *', 'hour field "5-2": range start is after its end'],
    [
      'unknown descriptor',
      '@fortnightly',
      'unknown cron descriptor "@fortnightly" (use @yearly, @monthly, @weekly, @daily, @hourly or @every <duration>)',
    ],
    [
      'descriptor case (robfig is exact)',
      '@HOURLY',
      'unknown cron descriptor "@HOURLY" (use @yearly, @monthly, @weekly, @daily, @hourly or @every <duration>)',
    ],
    [
      '@every without a duration',
      '@every',
      'unknown cron descriptor "@every" (use @yearly, @monthly, @weekly, @daily, @hourly or @every <duration>)',
    ],
    [
      '@every with a bad duration',
      '@every 1d',
      '@every: "1d" is not a duration (e.g. "30s", "5m", "1h30m")',
    ],
    ['@every zero', '@every 0s', '@every: "0s" is not a positive duration'],
    ['@every negative', '@every -5m', '@every: "-5m" is not a positive duration'],
    [
      'unknown CRON_TZ',
      'CRON_TZ=Nope/Zone 0 9 * * *',
      '"Nope/Zone" is not a known IANA time zone (e.g. "UTC", "Europe/Paris", "America/New_York")',
    ],
  ];
  for (const [name, spec, message] of bad)
    it(`rejects ${name}`, () =>
      assert.throws(
        () => parseCron(spec),
        (e: unknown) => e instanceof CronSyntaxError && e.message === message,
      ));
  it('fuzz: random strings parse or throw CronSyntaxError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 30 }),
          fc.stringMatching(/^[0-9*/, -]{0,20}$/),
          fc.stringMatching(/^@every [0-9.a-z-]{0,8}$/),
        ),
        (s) => {
          try {
            parseCron(s);
          } catch (e) {
            assert.ok(e instanceof CronSyntaxError && e.message.length > 0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('Go duration grammar', () => {
  const ok: Array<[string, string, number]> = [
    ['seconds', '1s', 1e9],
    ['zero', '0', 0],
    ['signed zero', '-0', 0],
    ['millis', '300ms', 300e6],
    ['compound', '2h45m', (2 * 3600 + 45 * 60) * 1e9],
    ['fraction', '1.5h', 5400e9],
    ['leading dot', '.5s', 5e8],
    ['trailing dot', '1.s', 1e9],
    ['negative', '-1m', -60e9],
    ['plus sign', '+1m', 60e9],
    ['micro sign', '10µs', 10e3],
    ['greek mu', '10μs', 10e3],
    ['us', '10us', 10e3],
    ['nanos', '7ns', 7],
  ];
  for (const [name, input, ns] of ok) it(name, () => assert.equal(parseGoDuration(input), ns));
  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['missing unit', '10'],
    ['unknown unit', '1d'],
    ['only sign', '-'],
    ['dot only', '.s'],
    ['space inside', '1 s'],
    ['surrounding space', ' 1s'],
    ['repeated unit letters', '1hh'],
    ['overflow', '3000000h'],
  ];
  for (const [name, input] of bad)
    it(`rejects ${name}`, () => assert.throws(() => parseGoDuration(input), DurationSyntaxError));
  it('Int64OrString: digits are nanoseconds', () => {
    assert.equal(parseNanosOrGoDuration('1500'), 1500);
    assert.equal(parseNanosOrGoDuration(' 2s '), 2e9);
    assert.throws(() => parseNanosOrGoDuration('soon'), DurationSyntaxError);
  });
  it('fuzz: random strings parse or throw DurationSyntaxError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 30 }),
          fc.stringMatching(/^[-+]?[0-9.]{0,4}(ns|us|µs|ms|s|m|h|d)?[0-9.]{0,3}[a-z]{0,2}$/),
        ),
        (s) => {
          try {
            assert.equal(typeof parseGoDuration(s), 'number');
          } catch (e) {
            assert.ok(e instanceof DurationSyntaxError && e.message.length > 0);
          }
        },
      ),
    );
  });
});

describe('time zone grammar', () => {
  it('IANA names, and "" as UTC', () => {
    assert.equal(parseTimezone('America/Los_Angeles'), 'America/Los_Angeles');
    assert.equal(parseTimezone(''), 'UTC');
  });
  for (const tz of ['Mars/Olympus', 'Local', ' UTC', 'Europe/'])
    it(`rejects ${JSON.stringify(tz)}`, () =>
      assert.throws(() => parseTimezone(tz), TimezoneError));
});

describe('time of day grammar', () => {
  const cases: Array<[string, number | undefined]> = [
    ['02:30:00', 9000],
    ['9:05:59', 9 * 3600 + 5 * 60 + 59],
    ['23:59:59', 86399],
    ['24:00:00', undefined],
    ['10:00', undefined],
    ['10:0:00', undefined],
  ];
  for (const [s, want] of cases)
    it(`${s}`, () =>
      want === undefined
        ? assert.throws(() => parseTimeOfDay(s), TimeOfDaySyntaxError)
        : assert.equal(parseTimeOfDay(s), want));
});

describe('condition grammar', () => {
  it('&& binds tighter than ||', () =>
    assert.deepEqual(parseCondition('a || b && c'), {
      kind: 'or',
      left: { kind: 'dep', name: 'a' },
      right: { kind: 'and', left: { kind: 'dep', name: 'b' }, right: { kind: 'dep', name: 'c' } },
    }));
  it('dependencies listed once, in order', () =>
    assert.deepEqual(conditionDependencies(parseCondition('(b || a) && b')), ['b', 'a']));
  it('a long chain does not exhaust the stack', () =>
    assert.equal(
      conditionDependencies(
        parseCondition(Array.from({ length: 50_000 }, (_, i) => `d${i}`).join(' && ')),
      ).length,
      50_000,
    ));
  const bad: Array<[string, string, number, string]> = [
    ['empty', '', 0, 'is empty'],
    ['blank', '   ', 0, 'is empty'],
    ['dangling and', 'a &&', 4, 'expected a dependency name or "(" at the end'],
    [
      'single ampersand',
      'a & b',
      2,
      'unexpected "&" at position 3; use dependency names, &&, || and parentheses',
    ],
    ['unclosed paren', '(a || b', 7, 'expected ")" at the end'],
    ['stray close', 'a)', 1, 'expected && or || at position 2, got ")"'],
    ['two names', 'a b', 2, 'expected && or || at position 3, got "b"'],
    [
      'negation',
      '!a',
      0,
      'unexpected "!" at position 1; use dependency names, &&, || and parentheses',
    ],
    [
      'name starting with a dash',
      '-a',
      0,
      'unexpected "-" at position 1; use dependency names, &&, || and parentheses',
    ],
  ];
  for (const [name, src, pos, message] of bad)
    it(`syntax error: ${name}`, () =>
      assert.throws(
        () => parseCondition(src),
        (e: unknown) =>
          e instanceof ConditionSyntaxError && e.position === pos && e.message === message,
      ));
  it('deep nesting is an error, not a stack overflow', () =>
    assert.throws(
      () => parseCondition('('.repeat(10000) + 'a' + ')'.repeat(10000)),
      ConditionSyntaxError,
    ));
  it('fuzz: random input parses or throws ConditionSyntaxError', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[a()|& -]{0,30}$/)),
        (s) => {
          try {
            parseCondition(s);
          } catch (e) {
            assert.ok(e instanceof ConditionSyntaxError && e.message.length > 0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
