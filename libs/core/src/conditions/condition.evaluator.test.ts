import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileCondition, ConditionSyntaxError, conditionDependencies, evaluateCondition, parseCondition } from './condition.parser.js';

describe('conditions', () => {
  const cases: Array<[string, string, string[], boolean]> = [
    ['single dependency', 'dep01', ['dep01'], true],
    ['single dependency missing', 'dep01', [], false],
    ['or with one side', 'dep01 || dep02', ['dep02'], true],
    ['and needs both', 'dep01 && dep02', ['dep01'], false],
    ['argo example', '(dep01 || dep02) && dep04', ['dep02', 'dep04'], true],
    ['argo example unsatisfied', '(dep01 || dep02) && dep04', ['dep01', 'dep02'], false],
    ['names with dash', 'dep-a && dep_b', ['dep-a', 'dep_b'], true],
    ['and binds tighter than or', 'a || b && c', ['a'], true],
    ['and binds tighter than or (2)', 'a && b || c', ['b'], false],
    ['nested parens', '((a))', ['a'], true],
    ['digits only name', '1 && 2', ['1', '2'], true],
  ];
  for (const [name, src, sat, want] of cases) {
    it(name, () => assert.equal(evaluateCondition(parseCondition(src), new Set(sat)), want));
  }
  it('default condition ANDs all dependencies', () => {
    const ast = compileCondition(undefined, ['a', 'b', 'c']);
    assert.equal(evaluateCondition(ast, ['a', 'b']), false);
    assert.equal(evaluateCondition(ast, ['a', 'b', 'c']), true);
  });
  it('blank condition is the default', () => assert.deepEqual(compileCondition('  ', ['a']), { kind: 'dep', name: 'a' }));
  it('dependencies listed in order', () => assert.deepEqual(conditionDependencies(parseCondition('(b || a) && b')), ['b', 'a']));
  it('unknown dependency rejected', () => assert.throws(() => compileCondition('a && z', ['a']), /unknown dependency "z"/));
  const bad: Array<[string, string, number]> = [
    ['empty', '', 0],
    ['dangling and', 'a &&', 4],
    ['single ampersand', 'a & b', 2],
    ['unclosed paren', '(a || b', 7],
    ['stray close', 'a)', 1],
    ['two names', 'a b', 2],
  ];
  for (const [name, src, pos] of bad) {
    it(`syntax error: ${name}`, () =>
      assert.throws(
        () => parseCondition(src),
        (e: unknown) => e instanceof ConditionSyntaxError && e.position === pos,
      ));
  }
  it('deep nesting is an error, not a stack overflow', () => assert.throws(() => parseCondition('('.repeat(10000) + 'a' + ')'.repeat(10000)), ConditionSyntaxError));
  it('fuzz: random input parses or throws ConditionSyntaxError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[a()|& -]{0,30}$/)), (s) => {
        try {
          parseCondition(s);
        } catch (e) {
          assert.ok(e instanceof ConditionSyntaxError && e.message.length > 0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
