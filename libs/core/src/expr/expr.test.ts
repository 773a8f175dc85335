import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ExprEvalError, ExprSyntaxError, type ExprValue } from './expr.ast.js';
import { compileExpr, evaluateExpr } from './expr.evaluator.js';
import {
  evaluateFilterExpression,
  expandDottedKeys,
  filterEnvironment,
  normaliseFilterData,
} from './event-filter.js';
import { goFloat } from './expr.values.js';
import { RegexSyntaxError } from '@ganglion/api';

const body = {
  body: {
    action: 'opened',
    number: 42,
    labels: ['bug', 'p1'],
    user: { login: 'octo' },
    nested: '{"a":{"b":[1,2,3]}}',
    ratio: 0.5,
    count: '7',
  },
  headers: { 'X-Event': ['push'] },
  'x-request-id': 'abc',
  'a.b': 1,
  'a.c.d': 'deep',
};
const run = (src: string, data: unknown = body): ExprValue =>
  evaluateExpr(compileExpr(src), filterEnvironment(data));

describe('expr language', () => {
  const cases: Array<[string, string, ExprValue]> = [
    ['int literal', '42', 42n],
    ['float literal', '1.5', 1.5],
    ['hex literal', '0x10', 16n],
    ['underscore literal', '1_000', 1000n],
    ['double quoted string', '"a\\tb"', 'a\tb'],
    ['single quoted string', "'it'", 'it'],
    ['raw string', '`a\\b`', 'a\\b'],
    ['unicode escape', '"\\u00e9"', 'é'],
    ['bool', 'true', true],
    ['nil', 'nil', null],
    ['array literal', '[1, "a", nil]', [1n, 'a', null]],
    ['map literal', '{a: 1, "b c": 2}.a', 1n],
    ['int arithmetic stays int', '7 + 3 * 2', 13n],
    ['division is float', '7 / 2', 3.5],
    ['modulo', '7 % 3', 1n],
    ['power', '2 ** 3', 8],
    ['caret power right assoc', '2 ^ 3 ^ 2', 512],
    ['unary minus', '-(1 + 2)', -3n],
    ['int float mix', '1 + 0.5', 1.5],
    ['string concat', '"a" + "b"', 'ab'],
    ['member access', 'body.action', 'opened'],
    ['bracket access', 'body["action"]', 'opened'],
    ['index access', 'body.labels[0]', 'bug'],
    ['negative index', 'body.labels[-1]', 'p1'],
    ['slice', 'body.labels[0:1]', ['bug']],
    ['missing key is nil', 'body.missing', null],
    ['optional chaining', 'body.missing?.x', null],
    ['json float equals int literal', 'body.number == 42', true],
    ['comparison', 'body.number > 40 && body.number <= 42', true],
    ['or word', 'false or true', true],
    ['not word', 'not false', true],
    ['bang', '!(1 == 2)', true],
    ['in list', '"bug" in body.labels', true],
    ['not in list', '"x" not in body.labels', true],
    ['in map', '"login" in body.user', true],
    ['matches', 'body.action matches "^op.n"', true],
    ['not matches', 'body.action not matches "^z"', true],
    ['contains', 'body.action contains "pen"', true],
    ['startsWith', 'body.action startsWith "op"', true],
    ['endsWith', 'body.action endsWith "ed"', true],
    ['ternary', 'body.number > 1 ? "big" : "small"', 'big'],
    ['nested ternary', 'false ? 1 : true ? 2 : 3', 2n],
    ['elvis', 'body.missing ?: "d"', 'd'],
    ['nil coalescing', 'body.missing ?? "d"', 'd'],
    ['nil coalescing on nil chain', 'body.missing.deeper ?? "d"', 'd'],
    ['range', '1..3', [1n, 2n, 3n]],
    ['len string', 'len("héllo")', 5n],
    ['len list', 'len(body.labels)', 2n],
    ['string of float', 'string(body.number)', '42'],
    ['string of big float uses %v', 'string(1000000.0)', '1e+06'],
    ['int of string', 'int("12")', 12n],
    ['float of string', 'float("1.5")', 1.5],
    ['upper lower trim', 'upper("a") + lower("B") + trim("  c ")', 'Abc'],
    ['asInt of float', 'asInt(body.number)', 42n],
    ['asInt of string', 'asInt(body.count) + 1', 8n],
    ['asFloat', 'asFloat("2.5")', 2.5],
    ['toJson sorts keys', 'toJson({b: 1, a: "<"})', '{"a":"\\u003c","b":1}'],
    ['toJson of float data', 'toJson(body.ratio)', '0.5'],
    ['jsonpath', 'jsonpath(body.nested, "$.a.b[1]")', 2],
    ['jsonpath wildcard', 'jsonpath(body.nested, "$.a.b[*]")', [1, 2, 3]],
    ['dashed top-level key normalised', 'x_request_id == "abc"', true],
    [
      'nested dashed key untouched',
      'body.user.login == "octo" && headers["X-Event"][0] == "push"',
      true,
    ],
    ['dotted key expanded', 'a.b == 1 && a.c.d == "deep"', true],
    ['sprig upper', 'sprig.upper("x")', 'X'],
    ['sprig contains arg order', 'sprig.contains("pen", body.action)', true],
    ['sprig hasPrefix', 'sprig.hasPrefix("op", body.action)', true],
    ['sprig hasSuffix', 'sprig.hasSuffix("ed", body.action)', true],
    ['sprig replace', 'sprig.replace("o", "0", "foo")', 'f00'],
    ['sprig split', 'sprig.split(",", "a,b")._1', 'b'],
    ['sprig join', 'sprig.join("-", body.labels)', 'bug-p1'],
    ['sprig toString', 'sprig.toString(body.number)', '42'],
    ['sprig atoi', 'sprig.atoi("12") + 1', 13n],
    ['sprig atoi bad is zero', 'sprig.atoi("x")', 0n],
    ['sprig int', 'sprig.int("5")', 5n],
    ['sprig float64', 'sprig.float64("2.5")', 2.5],
    ['sprig default empty', 'sprig.default("d", "")', 'd'],
    ['sprig default set', 'sprig.default("d", "v")', 'v'],
    ['sprig empty', 'sprig.empty(body.missing)', true],
    ['sprig b64enc', 'sprig.b64enc("héllo")', 'aMOpbGxv'],
    ['sprig b64dec', 'sprig.b64dec("aMOpbGxv")', 'héllo'],
    ['sprig regexMatch', 'sprig.regexMatch("^[a-z]+$", body.action)', true],
    ['sprig trim', 'sprig.trim(" x ")', 'x'],
    ['sprig lower', 'sprig.lower("X")', 'x'],
  ];
  for (const [name, src, want] of cases) it(name, () => assert.deepEqual(run(src), want));

  const errors: Array<[string, string, RegExp]> = [
    ['unknown name', 'nope == 1', /unknown name nope/],
    ['fetch from nil', 'body.missing.x', /cannot fetch x from <nil>/],
    ['index out of range', 'body.labels[5]', /index out of range/],
    ['and on non-bool', '1 and true', /mismatched type int/],
    ['mismatched comparison', '"a" < 1', /mismatched types string and int/],
    ['float modulo', '1.5 % 2', /mismatched types float64 and int/],
    ['integer divide by zero', '1 % 0', /divide by zero/],
    ['call non-function', 'body.action()', /not a function/],
    ['wrong arity', 'len()', /expected 1 argument/],
    ['asInt of bad string', 'asInt("x")', /invalid syntax/],
    ['asInt of bool', 'asInt(true)', /not supported/],
    ['jsonpath missing key', 'jsonpath(body.nested, "$.zz")', /unknown key/],
    ['non-bool ternary test', '1 ? 2 : 3', /non-bool/],
    ['huge range', '1..100000000', /range/],
  ];
  for (const [name, src, re] of errors)
    it(`error: ${name}`, () =>
      assert.throws(
        () => run(src),
        (e: unknown) => e instanceof ExprEvalError && re.test(e.message),
      ));
  it('error: invalid regex', () => assert.throws(() => run('"a" matches "("'), RegexSyntaxError));

  const syntax: Array<[string, string, number]> = [
    ['empty', '', 0],
    ['unclosed paren', '(1 + 2', 6],
    ['unterminated string', '"abc', 0],
    ['bad escape', '"\\q"', 1],
    ['dangling operator', '1 +', 3],
    ['unexpected token', '1 2', 2],
    ['bad character', '1 # 2', 2],
    ['missing colon', 'true ? 1', 8],
    ['bad map key', '{[1]: 2}', 1],
    ['radix prefix without digits (found by fuzzing)', '0B_', 0],
  ];
  for (const [name, src, pos] of syntax) {
    it(`syntax error: ${name}`, () =>
      assert.throws(
        () => compileExpr(src),
        (e: unknown) =>
          e instanceof ExprSyntaxError && e.position === pos && /at position/.test(e.message),
      ));
  }
  it('deep nesting is a syntax error', () =>
    assert.throws(
      () => compileExpr('('.repeat(10_000) + '1' + ')'.repeat(10_000)),
      ExprSyntaxError,
    ));
  it('step limit stops runaway evaluation', () =>
    assert.throws(
      () => evaluateExpr(compileExpr('len(0..999999) > 0'), {}, { maxSteps: 1000 }),
      /exceeded 1000 steps/,
    ));
  it('the deadline stops evaluation (issue 17)', () =>
    assert.throws(
      () =>
        evaluateExpr(
          compileExpr('len(0..999999) > 0 && len(0..999999) > 0'),
          {},
          {
            maxSteps: 1e12,
            deadlineMs: 0,
          },
        ),
      /exceeded its deadline of 0 ms/,
    ));
  it('go float formatting', () => {
    assert.equal(goFloat(123456), '123456');
    assert.equal(goFloat(1234567), '1.234567e+06');
    assert.equal(goFloat(0.0001), '0.0001');
    assert.equal(goFloat(0.00001), '1e-05');
  });
});

describe('EventSource filter expression', () => {
  const cases: Array<[string, string, unknown, boolean]> = [
    ['simple string equal', 'body.action == "opened"', body, true],
    ['simple string not equal', 'body.action == "closed"', body, false],
    ['json string data', 'body.a == 1', '{"body":{"a":1}}', true],
    ['bytes data', 'x == true', new TextEncoder().encode('{"x":true}'), true],
    ['dash key replaced', 'my_key == "v"', { 'my-key': 'v' }, true],
    ['dotted key expanded', 'k.a.b == 2', { 'k.a.b': 2 }, true],
    ['plain key wins over dotted collision', 'k == 1', { k: 1, 'k.a': 2 }, true],
    ['asInt comparison on string field', 'asInt(body.count) > 5', body, true],
  ];
  for (const [name, src, data, want] of cases)
    it(name, () => assert.equal(evaluateFilterExpression(compileExpr(src), data), want));
  it('non-bool result is an error', () =>
    assert.throws(
      () => evaluateFilterExpression(compileExpr('body.number'), body),
      /must return a bool/,
    ));
  it('invalid JSON data is an error', () =>
    assert.throws(
      () => evaluateFilterExpression(compileExpr('true'), '{'),
      /failed to unmarshal data/,
    ));
  it('array data is an error', () =>
    assert.throws(() => evaluateFilterExpression(compileExpr('true'), [1]), /cannot unmarshal/));
  it('missing top-level variable is an error', () =>
    assert.throws(() => evaluateFilterExpression(compileExpr('nope'), body), /unknown name/));
  it('normalisation only touches top-level keys', () =>
    assert.deepEqual(normaliseFilterData({ 'a-b': { 'c-d': 1 } }), { a_b: { 'c-d': 1 } }));
  it('expand nested dotted keys', () =>
    assert.deepEqual(expandDottedKeys({ 'a.b.c': 1, 'a.d': 2 }), { a: { b: { c: 1 }, d: 2 } }));
  it('sprig env is not available', () =>
    assert.throws(() => run('sprig.env("HOME")'), /cannot fetch|not a function/));
});

describe('expr fuzz', () => {
  const alphabet = fc.constantFrom(
    ...'ab01 ()[]{}.,:?!+-*/%^<>=&|"\'`\\'.split(''),
    'and',
    'or',
    'not',
    'in',
    'matches',
    'nil',
    'body',
    'len(',
    'sprig.',
    '..',
    '??',
    '?.',
  );
  const exprish = fc.array(alphabet, { maxLength: 30 }).map((a) => a.join(''));
  it('random input compiles or throws ExprSyntaxError; evaluation throws only our errors', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), exprish), (src) => {
        let c;
        try {
          c = compileExpr(src);
        } catch (e) {
          assert.ok(
            e instanceof ExprSyntaxError && e.message.length > 0,
            `compile threw ${String(e)}`,
          );
          return;
        }
        try {
          evaluateExpr(c, filterEnvironment(body), { maxSteps: 10_000 });
        } catch (e) {
          assert.ok(
            (e instanceof ExprEvalError || e instanceof RegexSyntaxError) && e.message.length > 0,
            `${JSON.stringify(src)} threw ${String(e)}`,
          );
        }
      }),
      { numRuns: 3000 },
    );
  });
  it('random JSON data: filter returns a bool or throws ExprEvalError', () => {
    const c = compileExpr('body?.a == 1 || len(toJson(body ?? {})) > 2');
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue(), fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue())),
        (data) => {
          try {
            assert.equal(typeof evaluateFilterExpression(c, data), 'boolean');
          } catch (e) {
            assert.ok(e instanceof ExprEvalError && e.message.length > 0, String(e));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
