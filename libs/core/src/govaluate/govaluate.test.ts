import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GovaluateSyntaxError, parseGovaluate } from './govaluate.parser.js';
import { compileGovaluate, evaluateGovaluate, GovaluateEvalError } from './govaluate.evaluator.js';
import { evaluateExprFilter, evaluateExprFilters, ExprFilterError } from './expr-filter.js';
import { RegexSyntaxError } from '@ganglion/api';

const run = (src: string, params: Record<string, unknown> = {}): unknown =>
  evaluateGovaluate(compileGovaluate(src), params);

describe('govaluate expressions', () => {
  const cases: Array<[string, string, Record<string, unknown>, unknown]> = [
    ['number literal', '1.5', {}, 1.5],
    ['hex literal', '0x1F', {}, 31],
    ['addition', '1 + 2 * 3', {}, 7],
    ['parens', '(1 + 2) * 3', {}, 9],
    ['exponent', '2 ** 10', {}, 1024],
    ['modulus', '7 % 3', {}, 1],
    ['division is float', '7 / 2', {}, 3.5],
    ['string concat', "'a' + 1", {}, 'a1'],
    ['string equal', 'a == "x"', { a: 'x' }, true],
    ['no coercion in equality', 'a == "1"', { a: 1 }, false],
    ['number comparison', 'a >= 10', { a: 10 }, true],
    ['string comparison', "'abc' < 'abd'", {}, true],
    ['and or', 'a > 1 && b == "x" || c', { a: 0, b: 'x', c: true }, true],
    ['not', '!a', { a: false }, true],
    ['negation', '-a + 1', { a: 2 }, -1],
    ['regex match', 'a =~ "^ab+c$"', { a: 'abbbc' }, true],
    ['regex unanchored', 'a =~ "b"', { a: 'abc' }, true],
    ['regex no match', 'a !~ "z"', { a: 'abc' }, true],
    ['in array', 'a in ("x", "y")', { a: 'y' }, true],
    ['not in array', 'a in (1, 2)', { a: 3 }, false],
    ['ternary true', 'a ? "yes" : "no"', { a: true }, 'yes'],
    ['ternary false', 'a ? "yes" : "no"', { a: false }, 'no'],
    ['coalesce nil', 'a ?? "d"', { a: null }, 'd'],
    ['coalesce value', 'a ?? "d"', { a: 'v' }, 'v'],
    ['escaped dashed name', '[my-field] == 3', { 'my-field': 3 }, true],
    ['dotted accessor', 'a.b == 2', { a: { b: 2 } }, true],
    ['bitwise', '6 & 3 | 8', {}, 10],
    ['shift', '1 << 4', {}, 16],
    ['array equality', 'a == b', { a: [1, 2], b: [1, 2] }, true],
    ['short circuit and', 'false && missing', {}, false],
    ['short circuit or', 'true || missing', {}, true],
  ];
  for (const [name, src, params, want] of cases)
    it(name, () => assert.deepEqual(run(src, params), want));

  const evalErrors: Array<[string, string, Record<string, unknown>, RegExp]> = [
    ['unknown parameter', 'x == 1', {}, /No parameter 'x' found/],
    ['arithmetic on string', 'a - 1', { a: 'x' }, /not a number/],
    ['logical on number', 'a && true', { a: 1 }, /not a bool/],
    ['compare mixed', 'a > "x"', { a: 1 }, /comparator/],
    ['in needs array', 'a in b', { a: 1, b: 2 }, /not an array/],
    ['missing accessor field', 'a.c == 1', { a: { b: 1 } }, /No method or field/],
  ];
  for (const [name, src, params, re] of evalErrors)
    it(`error: ${name}`, () =>
      assert.throws(
        () => run(src, params),
        (e: unknown) => e instanceof GovaluateEvalError && re.test(e.message),
      ));
  it('error: bad regex', () => assert.throws(() => run('a =~ "("', { a: 'x' }), RegexSyntaxError));

  const syntax: Array<[string, string]> = [
    ['unclosed string', '"abc'],
    ['unclosed paren', '(1 + 2'],
    ['dangling operator', '1 +'],
    ['bad character', '1 # 2'],
    ['unclosed escape', '[abc'],
    ['two values', '1 2'],
    ['empty', ''],
  ];
  for (const [name, src] of syntax)
    it(`syntax error: ${name}`, () =>
      assert.throws(() => parseGovaluate(src), GovaluateSyntaxError));
  it('fuzz: parse never crashes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 50 }),
          fc.stringMatching(/^[a-c0-9 ()+\-*&|=!<>~?:'",[\]]{0,40}$/),
        ),
        (s) => {
          let c;
          try {
            c = compileGovaluate(s);
          } catch (e) {
            assert.ok(e instanceof GovaluateSyntaxError && e.message.length > 0);
            return;
          }
          try {
            evaluateGovaluate(c, { a: 1, b: 'x', c: true });
          } catch (e) {
            assert.ok(
              e instanceof Error &&
                e.message.length > 0 &&
                !(e instanceof TypeError) &&
                !(e instanceof RangeError),
              String(e),
            );
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
  it('deep nesting is a syntax error', () =>
    assert.throws(
      () => parseGovaluate('('.repeat(5000) + '1' + ')'.repeat(5000)),
      GovaluateSyntaxError,
    ));
});

describe('exprs filter', () => {
  const data = { a: 'b', c: { d: 5, e: 'x-y' }, list: [1, 2, 3], flag: true };
  const cases: Array<
    [string, Parameters<typeof evaluateExprFilters>[0], unknown, 'and' | 'or', boolean]
  > = [
    ['nil filters', undefined, data, 'and', true],
    [
      'nil data',
      [{ expr: 'a == "b"', fields: [{ path: 'a', name: 'a' }] }],
      undefined,
      'and',
      true,
    ],
    [
      'simple string equal',
      [{ expr: 'a == "b"', fields: [{ path: 'a', name: 'a' }] }],
      data,
      'and',
      true,
    ],
    [
      'number comparison',
      [{ expr: 'd > 4', fields: [{ path: 'c.d', name: 'd' }] }],
      data,
      'and',
      true,
    ],
    [
      'dashed name',
      [{ expr: '[e-val] =~ "x-"', fields: [{ path: 'c.e', name: 'e-val' }] }],
      data,
      'and',
      true,
    ],
    [
      'array length path',
      [{ expr: 'n == 3', fields: [{ path: 'list.#', name: 'n' }] }],
      data,
      'and',
      true,
    ],
    [
      'and: one false fails',
      [
        { expr: 'a == "b"', fields: [{ path: 'a', name: 'a' }] },
        { expr: 'd < 4', fields: [{ path: 'c.d', name: 'd' }] },
      ],
      data,
      'and',
      false,
    ],
    [
      'or: one true passes',
      [
        { expr: 'a == "z"', fields: [{ path: 'a', name: 'a' }] },
        { expr: 'd > 4', fields: [{ path: 'c.d', name: 'd' }] },
      ],
      data,
      'or',
      true,
    ],
    [
      'or: none true',
      [{ expr: 'a == "z"', fields: [{ path: 'a', name: 'a' }] }],
      data,
      'or',
      false,
    ],
    ['filter without fields skipped', [{ expr: 'whatever ==', fields: [] }], data, 'and', true],
    [
      'or: missing path skipped when another passes',
      [
        { expr: 'q', fields: [{ path: 'nope', name: 'q' }] },
        { expr: 'f', fields: [{ path: 'flag', name: 'f' }] },
      ],
      data,
      'or',
      true,
    ],
    [
      'non-bool result is false',
      [{ expr: 'd + 1', fields: [{ path: 'c.d', name: 'd' }] }],
      data,
      'and',
      false,
    ],
    [
      'json string data',
      [{ expr: 'a == "b"', fields: [{ path: 'a', name: 'a' }] }],
      JSON.stringify(data),
      'and',
      true,
    ],
    [
      'gjson array projection with in',
      [{ expr: '"bug" in names', fields: [{ path: 'labels.#.name', name: 'names' }] }],
      { labels: [{ name: 'x' }, { name: 'bug' }] },
      'and',
      true,
    ],
    [
      'escaped dot in path',
      [{ expr: 'v == 1', fields: [{ path: 'a\\.b', name: 'v' }] }],
      { 'a.b': 1 },
      'and',
      true,
    ],
  ];
  for (const [name, filters, d, op, want] of cases)
    it(name, () => assert.equal(evaluateExprFilters(filters, d, op), want));
  it('and: missing path is an error', () =>
    assert.throws(
      () => evaluateExprFilter({ expr: 'q', fields: [{ path: 'nope', name: 'q' }] }, data),
      /path 'nope' does not exist/,
    ));
  it('or: errors reported when nothing passes', () =>
    assert.throws(
      () => evaluateExprFilters([{ expr: 'q', fields: [{ path: 'nope', name: 'q' }] }], data, 'or'),
      ExprFilterError,
    ));
  it('invalid JSON data', () =>
    assert.throws(
      () => evaluateExprFilter({ expr: 'a', fields: [{ path: 'a', name: 'a' }] }, '{nope'),
      /not valid JSON/,
    ));
  it('syntax error surfaces', () =>
    assert.throws(
      () => evaluateExprFilter({ expr: 'a ==', fields: [{ path: 'a', name: 'a' }] }, data),
      GovaluateSyntaxError,
    ));
  it('fuzz: random data and paths give a bool or a filter error', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.string({ maxLength: 10 }),
        fc.constantFrom('and', 'or') as fc.Arbitrary<'and' | 'or'>,
        (d, path, op) => {
          try {
            assert.equal(
              typeof evaluateExprFilters(
                [{ expr: 'v == 1 || v != 1', fields: [{ path, name: 'v' }] }],
                d,
                op,
              ),
              'boolean',
            );
          } catch (e) {
            assert.ok(e instanceof ExprFilterError && e.message.length > 0, String(e));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('govaluate limits (issue 17)', () => {
  it('string results are bounded and the deadline holds', () => {
    const big = 'x'.repeat(600_000);
    assert.throws(
      () => evaluateGovaluate(compileGovaluate('a + a'), { a: big }),
      /string result longer than 1048576 characters/,
    );
    const long = Array.from({ length: 600 }, () => 'a').join(' + ');
    assert.throws(
      () => evaluateGovaluate(compileGovaluate(long), { a: 'x' }, 0),
      /exceeded its deadline of 0 ms/,
    );
  });
});
