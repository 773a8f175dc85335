import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConditionSyntaxError, parseCondition } from '@ganglion/api';
import { compileCondition, defaultCondition, evaluateCondition } from './condition.evaluator.js';

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
  it('blank condition is the default', () =>
    assert.deepEqual(compileCondition('  ', ['a']), { kind: 'dep', name: 'a' }));
  it('unknown dependency rejected', () =>
    assert.throws(() => compileCondition('a && z', ['a']), /unknown dependency "z"/));
  it('unknown dependency: position of the name', () =>
    assert.throws(
      () => compileCondition('a && zz', ['a']),
      (e: unknown) => e instanceof ConditionSyntaxError && e.position === 5,
    ));
  it('no dependencies and no conditions is an error', () =>
    assert.throws(() => defaultCondition([]), ConditionSyntaxError));
});
