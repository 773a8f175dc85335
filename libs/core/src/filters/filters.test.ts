import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { SensorEvent } from '../event.js';
import { evaluateFilters, evaluateTimeFilter, type EventDependencyFilter } from './index.js';

const now = new Date('2024-05-01T12:00:00Z');
const ev = (data: unknown, ctx: Partial<SensorEvent['context']> = {}): SensorEvent => ({
  context: {
    id: '1',
    source: 'webhook',
    specversion: '1.0',
    type: 'webhook',
    subject: 'example',
    datacontenttype: 'application/json',
    ...ctx,
  },
  data,
});
const data = { a: 'hello', n: 10, b: true, nested: { s: 'x-y' }, arr: [1, 2] };

describe('evaluateFilters (Argo filter.go semantics)', () => {
  const cases: [
    name: string,
    filters: EventDependencyFilter | undefined,
    event: SensorEvent,
    want: boolean,
    reason?: RegExp,
  ][] = [
    ['nil filters', undefined, ev(data), true],
    [
      'empty event data passes data filters',
      { data: [{ path: 'a', type: 'string', value: ['zzz'] }] },
      ev(null),
      true,
    ],
    [
      'simple string equal',
      { data: [{ path: 'a', type: 'string', value: ['hello'] }] },
      ev(data),
      true,
    ],
    [
      'string is an unanchored regex',
      { data: [{ path: 'a', type: 'string', value: ['ell'] }] },
      ev(data),
      true,
    ],
    [
      'anchored regex mismatch',
      { data: [{ path: 'a', type: 'string', value: ['^ell$'] }] },
      ev(data),
      false,
      /does not satisfy/,
    ],
    [
      'string not equal means no match',
      { data: [{ path: 'a', type: 'string', value: ['bye'], comparator: '!=' }] },
      ev(data),
      true,
    ],
    [
      'string values are OR-ed',
      { data: [{ path: 'a', type: 'string', value: ['nope', 'hel+o'] }] },
      ev(data),
      true,
    ],
    [
      'string with > never matches',
      { data: [{ path: 'a', type: 'string', value: ['hello'], comparator: '>' }] },
      ev(data),
      false,
    ],
    [
      'number equal default comparator',
      { data: [{ path: 'n', type: 'number', value: ['10'] }] },
      ev(data),
      true,
    ],
    [
      'number greater than',
      { data: [{ path: 'n', type: 'number', value: ['5'], comparator: '>' }] },
      ev(data),
      true,
    ],
    [
      'number less or equal fails',
      { data: [{ path: 'n', type: 'number', value: ['5'], comparator: '<=' }] },
      ev(data),
      false,
      /data\[0\]/,
    ],
    [
      'number not equal',
      { data: [{ path: 'n', type: 'number', value: ['11'], comparator: '!=' }] },
      ev(data),
      true,
    ],
    ['bool equal', { data: [{ path: 'b', type: 'bool', value: ['true'] }] }, ev(data), true],
    ['bool mismatch', { data: [{ path: 'b', type: 'bool', value: ['false'] }] }, ev(data), false],
    [
      'nested path',
      { data: [{ path: 'nested.s', type: 'string', value: ['x-y'] }] },
      ev(data),
      true,
    ],
    [
      'array index path',
      { data: [{ path: 'arr.1', type: 'number', value: ['2'] }] },
      ev(data),
      true,
    ],
    [
      'missing path fails in and',
      { data: [{ path: 'nope', type: 'string', value: ['x'] }] },
      ev(data),
      false,
      /path 'nope' does not exist/,
    ],
    [
      'no values is an error',
      { data: [{ path: 'a', type: 'string', value: [] }] },
      ev(data),
      false,
      /no values specified/,
    ],
    [
      'unsupported type',
      { data: [{ path: 'a', type: 'object', value: ['x'] }] },
      ev(data),
      false,
      /unsupported JSON type/,
    ],
    [
      'data and: all must match',
      {
        data: [
          { path: 'a', type: 'string', value: ['hello'] },
          { path: 'n', type: 'number', value: ['1'] },
        ],
      },
      ev(data),
      false,
    ],
    [
      'data or: one is enough',
      {
        dataLogicalOperator: 'or',
        data: [
          { path: 'a', type: 'string', value: ['nope'] },
          { path: 'n', type: 'number', value: ['10'] },
        ],
      },
      ev(data),
      true,
    ],
    [
      'data or: missing path collected, other matches',
      {
        dataLogicalOperator: 'or',
        data: [
          { path: 'zz', type: 'string', value: ['x'] },
          { path: 'n', type: 'number', value: ['10'] },
        ],
      },
      ev(data),
      true,
    ],
    [
      'data [] with dataLogicalOperator or passes, as in Argo',
      { dataLogicalOperator: 'or', data: [] },
      ev(data),
      true,
    ],
    [
      'data or: nothing matches reports errors',
      {
        dataLogicalOperator: 'or',
        data: [
          { path: 'zz', type: 'string', value: ['x'] },
          { path: 'n', type: 'number', value: ['1'] },
        ],
      },
      ev(data),
      false,
      /does not exist/,
    ],
    [
      'template applied before compare',
      { data: [{ path: 'a', type: 'string', value: ['^HELLO$'], template: '{{ upper .Input }}' }] },
      ev(data),
      true,
    ],
    [
      'template on number',
      {
        data: [{ path: 'n', type: 'number', value: ['20'], template: '{{ mul (int .Input) 2 }}' }],
      },
      ev(data),
      true,
    ],
    [
      'template rendering <no value> is an error',
      { data: [{ path: 'a', type: 'string', value: ['x'], template: '{{ .Nope }}' }] },
      ev(data),
      false,
      /no value/,
    ],
    ['context exact match', { context: { type: 'webhook', source: 'webhook' } }, ev(data), true],
    ['context mismatch', { context: { subject: 'other' } }, ev(data), false, /subject/],
    ['context empty fields ignored', { context: { type: '', subject: 'example' } }, ev(data), true],
    [
      'time inside window',
      { time: { start: '09:00:00', stop: '17:00:00' } },
      ev(data, { time: '2024-05-01T12:00:00Z' }),
      true,
    ],
    [
      'time start inclusive',
      { time: { start: '12:00:00', stop: '17:00:00' } },
      ev(data, { time: '2024-05-01T12:00:00Z' }),
      true,
    ],
    [
      'time stop exclusive',
      { time: { start: '09:00:00', stop: '12:00:00' } },
      ev(data, { time: '2024-05-01T12:00:00Z' }),
      false,
      /outside/,
    ],
    [
      'midnight wrap after start',
      { time: { start: '22:00:00', stop: '02:00:00' } },
      ev(data, { time: '2024-05-01T23:30:00Z' }),
      true,
    ],
    [
      'midnight wrap before stop',
      { time: { start: '22:00:00', stop: '02:00:00' } },
      ev(data, { time: '2024-05-01T01:00:00Z' }),
      true,
    ],
    [
      'midnight wrap outside',
      { time: { start: '22:00:00', stop: '02:00:00' } },
      ev(data, { time: '2024-05-01T12:00:00Z' }),
      false,
    ],
    [
      'timezone shifts the window',
      { time: { start: '09:00:00', stop: '10:00:00', timezone: 'America/New_York' } },
      ev(data, { time: '2024-05-01T13:30:00Z' }),
      true,
    ],
    [
      'unknown timezone is an error',
      { time: { start: '09:00:00', stop: '10:00:00', timezone: 'Mars/Base' } },
      ev(data),
      false,
      /unknown timezone/,
    ],
    [
      'invalid clock is an error',
      { time: { start: '9am', stop: '10:00:00' } },
      ev(data),
      false,
      /invalid start/,
    ],
    [
      'event without time uses now',
      { time: { start: '11:00:00', stop: '13:00:00' } },
      ev(data),
      true,
    ],
    [
      'script returning true',
      { script: 'return event.a == "hello" and event.n > 5' },
      ev(data),
      true,
    ],
    ['script returning false', { script: 'return event.n > 50' }, ev(data), false, /not true/],
    ['script error fails', { script: 'error("bad")' }, ev(data), false, /bad/],
    [
      'runaway script fails with a clear error',
      { script: 'while true do end' },
      ev(data),
      false,
      /instruction limit/,
    ],
    [
      'exprs via govaluate',
      {
        exprs: [
          {
            expr: 'n > 5 && a == "hello"',
            fields: [
              { name: 'n', path: 'n' },
              { name: 'a', path: 'a' },
            ],
          },
        ],
      },
      ev(data),
      true,
    ],
    [
      'exprs false',
      { exprs: [{ expr: 'n > 50', fields: [{ name: 'n', path: 'n' }] }] },
      ev(data),
      false,
      /exprs/,
    ],
    [
      'and: any failing filter rejects',
      { data: [{ path: 'a', type: 'string', value: ['hello'] }], context: { type: 'calendar' } },
      ev(data),
      false,
      /context: type/,
    ],
    [
      'and: an error rejects even if others pass',
      { data: [{ path: 'zz', type: 'string', value: ['x'] }], context: { type: 'webhook' } },
      ev(data),
      false,
      /error: /,
    ],
  ];
  for (const [name, filters, event, want, reason] of cases)
    it(name, () => {
      const r = evaluateFilters(filters, event, { now });
      assert.equal(r.passed, want, r.reason);
      assert.ok(r.reason.length > 0);
      if (reason) assert.match(r.reason, reason);
    });

  const orCases: [name: string, filters: EventDependencyFilter, want: boolean][] = [
    [
      'or: one configured filter passes',
      { data: [{ path: 'a', type: 'string', value: ['nope'] }], context: { type: 'webhook' } },
      true,
    ],
    // Argo's filterEvent returns the collected errors with the verdict, and Filter fails on an error.
    [
      'or: a sub-filter that errors fails the whole filter, even when another passes',
      { data: [{ path: 'zz', type: 'string', value: ['x'] }], context: { type: 'webhook' } },
      false,
    ],
    [
      'or: data [] with dataLogicalOperator or passes (no data filters)',
      { dataLogicalOperator: 'or', data: [] },
      true,
    ],
    [
      'or: data [] with dataLogicalOperator or counts as a configured filter that passes',
      { dataLogicalOperator: 'or', data: [], context: { type: 'calendar' } },
      true,
    ],
    [
      'or: none passes',
      { data: [{ path: 'a', type: 'string', value: ['nope'] }], context: { type: 'calendar' } },
      false,
    ],
    ['or: unconfigured filters do not count', { context: { type: 'calendar' } }, false],
  ];
  for (const [name, filters, want] of orCases)
    it(name, () =>
      assert.equal(
        evaluateFilters(filters, ev(data), { now, filtersLogicalOperator: 'or' }).passed,
        want,
      ),
    );

  it('injected expr evaluator', () => {
    const r = evaluateFilters({ exprs: [{ expr: 'x', fields: [] }] }, ev(data), {
      now,
      exprEvaluator: () => false,
    });
    assert.equal(r.passed, false);
  });

  it('time filter uses the given instant', () => {
    assert.equal(
      (
        evaluateTimeFilter(
          { start: '00:00:00', stop: '00:00:01' },
          new Date('2024-01-01T00:00:00Z'),
        ) as { passed: boolean }
      ).passed,
      true,
    );
  });
});

describe('filters fuzz', () => {
  const filterArb = fc.record(
    {
      data: fc.array(
        fc.record({
          path: fc.oneof(
            fc.constantFrom('a', 'n', 'b', 'nested.s', 'arr.0', 'arr.#'),
            fc.string({ maxLength: 10 }),
          ),
          type: fc.constantFrom('string', 'number', 'bool', 'x'),
          value: fc.array(
            fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('(', '[a-', '10', 'true', '.*')),
            { maxLength: 3 },
          ),
          comparator: fc.constantFrom('', '=', '!=', '>', '>=', '<', '<=', '~'),
          template: fc.option(
            fc.constantFrom('{{ .Input }}', '{{ upper .Input', '{{ len .Input }}', '{{ .X.Y }}'),
            { nil: undefined },
          ),
        }),
        { maxLength: 3 },
      ),
      dataLogicalOperator: fc.constantFrom('and', 'or', ''),
      context: fc.record({ type: fc.string({ maxLength: 5 }) }),
      time: fc.record({
        start: fc.string({ maxLength: 8 }),
        stop: fc.constantFrom('10:00:00', '25:00:00', ''),
        timezone: fc.constantFrom('UTC', 'Bad/Zone', ''),
      }),
    },
    { requiredKeys: [] },
  );
  it('random filters and data give a verdict and a reason, never a throw', () => {
    fc.assert(
      fc.property(
        filterArb,
        fc.oneof(fc.jsonValue(), fc.constant(data)),
        fc.constantFrom<'and' | 'or'>('and', 'or'),
        (filters, d, op) => {
          const r = evaluateFilters(filters as EventDependencyFilter, ev(d), {
            now,
            filtersLogicalOperator: op,
          });
          assert.equal(typeof r.passed, 'boolean');
          assert.equal(typeof r.reason, 'string');
        },
      ),
      { numRuns: 1000 },
    );
  });
  it('random Lua scripts fail cleanly', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.constantFrom(
            'return',
            ' ',
            'event',
            '.',
            'a',
            '==',
            '"hello"',
            'while true do end',
            'x',
            '(',
            ')',
            'end',
            'true',
            '1',
            '..',
            'for i=1,10 do',
            '{',
            '}',
          ),
          { maxLength: 12 },
        ),
        (parts) => {
          const r = evaluateFilters({ script: parts.join(' ') }, ev(data), {
            now,
            luaLimits: { maxInstructions: 20_000 },
          });
          assert.equal(typeof r.passed, 'boolean');
        },
      ),
      { numRuns: 300 },
    );
  });
});
