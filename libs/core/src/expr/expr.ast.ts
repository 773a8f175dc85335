/**
 * AST and values of the antonmedv/expr subset (https://expr-lang.org/docs/language-definition)
 * that Argo Events evaluates for EventSource `filter.expression` (`pkg/shared/expr/eval.go`).
 *
 * Values mirror Go's: `bigint` is an expr `int` (int64, wraps), `number` is a `float64`,
 * `null` is `nil`. JSON event data decodes to floats, as `encoding/json` does in Argo.
 */

import { PositionedSyntaxError } from '../syntax-error.js';

export type ExprValue =
  null | boolean | number | bigint | string | ExprValue[] | ExprMap | ExprFunction;
export interface ExprMap {
  [key: string]: ExprValue;
}

/** A callable value: a builtin, an Argo helper (`asInt`, `toJson`, …) or a `sprig.*` function. */
export class ExprFunction {
  constructor(
    readonly name: string,
    readonly call: (args: ExprValue[]) => ExprValue,
  ) {}
}

export type UnaryOp = 'not' | '-' | '+';
export type BinaryOp =
  | 'or'
  | 'and'
  | '=='
  | '!='
  | '<'
  | '>'
  | '<='
  | '>='
  | 'in'
  | 'matches'
  | 'contains'
  | 'startsWith'
  | 'endsWith'
  | '..'
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '**'
  | '??';

export type ExprNode =
  | { kind: 'literal'; value: ExprValue; pos: number }
  | { kind: 'ident'; name: string; pos: number }
  | { kind: 'array'; items: ExprNode[]; pos: number }
  | { kind: 'map'; entries: Array<[string, ExprNode]>; pos: number }
  | { kind: 'member'; object: ExprNode; property: ExprNode; optional: boolean; pos: number }
  | { kind: 'slice'; object: ExprNode; from?: ExprNode; to?: ExprNode; pos: number }
  | { kind: 'call'; callee: ExprNode; args: ExprNode[]; pos: number }
  | { kind: 'unary'; op: UnaryOp; operand: ExprNode; pos: number }
  | { kind: 'binary'; op: BinaryOp; negate: boolean; left: ExprNode; right: ExprNode; pos: number }
  | { kind: 'conditional'; test: ExprNode; then: ExprNode; otherwise: ExprNode; pos: number };

/** A syntax error with its 0-based position in the source. */
export class ExprSyntaxError extends PositionedSyntaxError {
  override name = 'ExprSyntaxError';
}

/** An evaluation (runtime) error. */
export class ExprEvalError extends Error {
  override name = 'ExprEvalError';
}
