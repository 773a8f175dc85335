/**
 * Executes a parsed Go text/template ({@link ParsedTemplate}) against a data value, with the
 * semantics of Go's `text/template/exec.go`: missing map keys print `<no value>`, a field of
 * nil is an error, `if`/`with` use Go truth, `range` iterates arrays, maps (sorted keys) and
 * integers. Execution is bounded by steps, output size and call depth so that a template
 * from a manifest can never hang or exhaust the process.
 */
import {
  TemplateError,
  type Command,
  type Operand,
  type ParsedTemplate,
  type Pipeline,
  type TemplateNode,
} from './template.parser.js';
import { Deadline, DEFAULT_DEADLINE_MS, DEFAULT_MAX_VALUE_BYTES, ValueBudget } from '../limits.js';
import { GoTime, formatV, truth, typeName } from './go-format.js';
import {
  builtinFunctions,
  type FunctionContext,
  type TemplateFunction,
} from './template.functions.js';

/** Execution options: the clock and randomness are injected (deterministic core). */
export interface ExecuteOptions {
  /** Clock for sprig `now`. Defaults to the Unix epoch so that output stays deterministic. */
  now?: () => Date;
  /** Randomness for `uuidv4`: returns `n` random bytes. */
  randomBytes?: (n: number) => Uint8Array;
  /** Max evaluation steps (node visits and function calls). Default 100 000. */
  maxSteps?: number;
  /** Max output size in characters, and max length of any string a function returns. Default 1 MiB. */
  maxOutput?: number;
  /** Max size of any list or dict a function returns (approximate JSON bytes). Default 16 MiB. */
  maxValueBytes?: number;
  /** Wall-clock deadline in milliseconds. Default 2 000. */
  deadlineMs?: number;
  /** Extra or overriding functions. */
  functions?: Record<string, TemplateFunction>;
}

const DEFAULT_LIMITS = { maxSteps: 100_000, maxOutput: 1024 * 1024, maxDepth: 100 } as const;

class BreakSignal {}
class ContinueSignal {}

interface Scope {
  vars: { name: string; value: unknown }[];
}

class Executor implements FunctionContext {
  private steps = 0;
  private out: string[] = [];
  private outLen = 0;
  private depth = 0;
  private readonly deadline: Deadline;
  private readonly budget: ValueBudget;
  readonly maxSteps: number;
  readonly maxOutput: number;
  readonly funcs: Record<string, TemplateFunction>;
  constructor(readonly opts: ExecuteOptions) {
    this.maxSteps = opts.maxSteps ?? DEFAULT_LIMITS.maxSteps;
    this.maxOutput = opts.maxOutput ?? DEFAULT_LIMITS.maxOutput;
    this.deadline = new Deadline(opts.deadlineMs ?? DEFAULT_DEADLINE_MS);
    this.budget = new ValueBudget(opts.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES);
    this.funcs = opts.functions ? { ...builtinFunctions, ...opts.functions } : builtinFunctions;
  }

  now(): Date {
    return this.opts.now ? this.opts.now() : new Date(0);
  }
  randomBytes(n: number): Uint8Array {
    if (!this.opts.randomBytes)
      throw new TemplateError('no randomness source configured for uuidv4');
    return this.opts.randomBytes(n);
  }
  /** Charges `n` steps; functions that loop (repeat, indent, …) charge by size. */
  step(n = 1): void {
    this.steps += n;
    if (this.steps > this.maxSteps)
      throw new TemplateError(`template execution exceeded ${this.maxSteps} steps`);
    if (this.deadline.tick())
      throw new TemplateError(`template execution exceeded its deadline of ${this.deadline.ms} ms`);
  }
  /** A function's result: strings are bounded by the output limit, lists and dicts by the value budget. */
  private checkValue(name: string, v: unknown): unknown {
    if (typeof v === 'string') {
      if (v.length > this.maxOutput)
        throw new TemplateError(
          `template value returned by ${name} exceeds the output limit of ${this.maxOutput} characters`,
        );
    } else if (!this.budget.fits(v))
      throw new TemplateError(
        `template value returned by ${name} exceeds the value size limit of ${this.budget.maxBytes} bytes`,
      );
    return v;
  }
  checkSize(len: number): void {
    if (len > this.maxOutput)
      throw new TemplateError(
        `template value exceeds the output limit of ${this.maxOutput} characters`,
      );
  }

  private write(s: string): void {
    this.outLen += s.length;
    if (this.outLen > this.maxOutput)
      throw new TemplateError(`template output exceeds ${this.maxOutput} characters`);
    this.out.push(s);
  }

  run(t: ParsedTemplate, data: unknown): string {
    const scope: Scope = { vars: [{ name: '$', value: data }] };
    this.list(t.root, data, scope);
    return this.out.join('');
  }

  private list(nodes: readonly TemplateNode[], dot: unknown, scope: Scope): void {
    if (++this.depth > DEFAULT_LIMITS.maxDepth)
      throw new TemplateError(`template execution nested deeper than ${DEFAULT_LIMITS.maxDepth}`);
    const mark = scope.vars.length;
    try {
      for (const n of nodes) this.node(n, dot, scope);
    } finally {
      scope.vars.length = mark;
      this.depth--;
    }
  }

  private node(n: TemplateNode, dot: unknown, scope: Scope): void {
    this.step();
    switch (n.t) {
      case 'text':
        this.write(n.text);
        return;
      case 'action': {
        const v = this.pipeline(n.pipe, dot, scope);
        if (n.pipe.decl.length === 0) this.write(printValue(v));
        return;
      }
      case 'if':
      case 'with': {
        const mark = scope.vars.length;
        const v = this.pipeline(n.pipe, dot, scope);
        try {
          if (truth(v)) this.list(n.list, n.t === 'with' ? v : dot, scope);
          else if (n.elseList) this.list(n.elseList, dot, scope);
        } finally {
          scope.vars.length = mark;
        }
        return;
      }
      case 'range':
        this.range(n, dot, scope);
        return;
      case 'break':
        throw new BreakSignal();
      case 'continue':
        throw new ContinueSignal();
    }
  }

  private range(n: Extract<TemplateNode, { t: 'range' }>, dot: unknown, scope: Scope): void {
    const mark = scope.vars.length;
    const decl = n.pipe.decl;
    const v = this.pipeline({ ...n.pipe, decl: [] }, dot, scope);
    let entries: Iterable<[unknown, unknown]>;
    let empty: boolean;
    if (Array.isArray(v)) {
      entries = v.map((x, i) => [BigInt(i), x]);
      empty = v.length === 0;
    } else if (typeof v === 'bigint') {
      if (v > BigInt(this.maxSteps))
        throw new TemplateError(`template execution exceeded ${this.maxSteps} steps`);
      // lazily: a large count costs steps (and meets the deadline), not memory
      entries = (function* (): Generator<[unknown, unknown]> {
        for (let i = 0n; i < v; i++) yield [i, i];
      })();
      empty = v <= 0n;
    } else if (v !== null && typeof v === 'object' && !(v instanceof GoTime)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o).sort();
      entries = keys.map((k) => [k, o[k]]);
      empty = keys.length === 0;
    } else if (v === null || v === undefined) {
      entries = [];
      empty = true;
    } else throw new TemplateError(`range can't iterate over ${formatV(v)}`);
    try {
      if (empty) {
        if (n.elseList) this.list(n.elseList, dot, scope);
        return;
      }
      for (const [k, x] of entries) {
        this.step();
        if (decl.length === 1) scope.vars.push({ name: decl[0]!, value: x });
        else if (decl.length === 2)
          scope.vars.push({ name: decl[0]!, value: k }, { name: decl[1]!, value: x });
        try {
          this.list(n.list, x, scope);
        } catch (e) {
          if (e instanceof BreakSignal) break;
          if (!(e instanceof ContinueSignal)) throw e;
        } finally {
          scope.vars.length = mark;
        }
      }
    } finally {
      scope.vars.length = mark;
    }
  }

  private lookupVar(scope: Scope, name: string): unknown {
    for (let i = scope.vars.length - 1; i >= 0; i--)
      if (scope.vars[i]!.name === name) return scope.vars[i]!.value;
    throw new TemplateError(`undefined variable: ${name}`);
  }

  pipeline(p: Pipeline, dot: unknown, scope: Scope): unknown {
    let value: unknown = undefined;
    let first = true;
    for (const c of p.cmds) {
      value = this.command(c, dot, scope, first ? NO_FINAL : value);
      first = false;
    }
    if (p.decl.length > 0) {
      if (p.assign) {
        const name = p.decl[0]!;
        let found = false;
        for (let i = scope.vars.length - 1; i >= 0; i--)
          if (scope.vars[i]!.name === name) {
            scope.vars[i]!.value = value;
            found = true;
            break;
          }
        if (!found) throw new TemplateError(`undefined variable: ${name}`);
      } else scope.vars.push({ name: p.decl[p.decl.length - 1]!, value });
    }
    return value;
  }

  private command(c: Command, dot: unknown, scope: Scope, final: unknown): unknown {
    this.step();
    const head = c.args[0]!;
    if (head.t === 'ident') return this.call(head.name, c.args.slice(1), dot, scope, final);
    if (c.args.length > 1 || final !== NO_FINAL) {
      if (head.t === 'field' || (head.t === 'var' && head.names.length))
        throw new TemplateError(
          `can't give arguments to field ${describeOperand(head)}: methods are not supported`,
        );
      throw new TemplateError(`can't give argument to non-function ${describeOperand(head)}`);
    }
    return this.operand(head, dot, scope);
  }

  private call(
    name: string,
    argOps: readonly Operand[],
    dot: unknown,
    scope: Scope,
    final: unknown,
  ): unknown {
    if (++this.depth > DEFAULT_LIMITS.maxDepth)
      throw new TemplateError(`template execution nested deeper than ${DEFAULT_LIMITS.maxDepth}`);
    try {
      if (name === 'and' || name === 'or') {
        const all: (() => unknown)[] = argOps.map((o) => () => this.operand(o, dot, scope));
        if (final !== NO_FINAL) all.push(() => final);
        if (all.length === 0)
          throw new TemplateError(`wrong number of args for ${name}: want at least 1 got 0`);
        let v: unknown;
        for (const f of all) {
          v = f();
          if (name === 'and' ? !truth(v) : truth(v)) return v;
        }
        return v;
      }
      const fn = this.funcs[name];
      if (!fn || !Object.prototype.hasOwnProperty.call(this.funcs, name))
        throw new TemplateError(`function "${name}" not defined`);
      const args = argOps.map((o) => this.operand(o, dot, scope));
      if (final !== NO_FINAL) args.push(final);
      this.step();
      try {
        return this.checkValue(name, fn(this, args));
      } catch (e) {
        if (e instanceof TemplateError && e.message.startsWith('error calling')) throw e;
        if (e instanceof TemplateError && /exceeded|exceeds|nested deeper/.test(e.message)) throw e;
        throw new TemplateError(
          `error calling ${name}: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    } finally {
      this.depth--;
    }
  }

  private operand(o: Operand, dot: unknown, scope: Scope): unknown {
    this.step();
    switch (o.t) {
      case 'dot':
        return dot;
      case 'lit':
        return o.value;
      case 'field':
        return this.fields(dot, o.names, 'interface {}');
      case 'var':
        return this.fields(this.lookupVar(scope, o.name), o.names, o.name);
      case 'pipe': {
        const mark = scope.vars.length;
        if (++this.depth > DEFAULT_LIMITS.maxDepth)
          throw new TemplateError(
            `template execution nested deeper than ${DEFAULT_LIMITS.maxDepth}`,
          );
        try {
          return this.fields(this.pipeline(o.pipe, dot, scope), o.names, 'interface {}');
        } finally {
          this.depth--;
          scope.vars.length = mark;
        }
      }
      case 'ident':
        return this.call(o.name, [], dot, scope, NO_FINAL);
    }
  }

  private fields(recv: unknown, names: readonly string[], what: string): unknown {
    let cur = recv;
    for (const name of names) {
      this.step();
      if (cur === null || cur === undefined)
        throw new TemplateError(`nil pointer evaluating ${what}.${name}`);
      if (typeof cur !== 'object' || Array.isArray(cur))
        throw new TemplateError(`can't evaluate field ${name} in type ${typeName(cur)}`);
      const o = cur as Record<string, unknown>;
      cur = Object.prototype.hasOwnProperty.call(o, name) ? o[name] : undefined;
      what = 'interface {}';
    }
    return cur;
  }
}

const NO_FINAL: unknown = Symbol('no-final');

function describeOperand(o: Operand): string {
  switch (o.t) {
    case 'field':
      return '.' + o.names.join('.');
    case 'var':
      return o.name + o.names.map((n) => '.' + n).join('');
    case 'lit':
      return formatV(o.value);
    case 'dot':
      return '.';
    default:
      return 'value';
  }
}

/** How an action prints its value: a missing map entry is `<no value>` (Go's printValue). */
function printValue(v: unknown): string {
  if (v === undefined) return '<no value>';
  return formatV(v);
}

/**
 * Executes a parsed template with `data` as dot. Throws {@link TemplateError} with a clear
 * message on any execution error or exceeded limit.
 */
export function executeTemplate(
  t: ParsedTemplate,
  data: unknown,
  opts: ExecuteOptions = {},
): string {
  try {
    return new Executor(opts).run(t, data);
  } catch (e) {
    if (e instanceof TemplateError) throw e;
    if (e instanceof RangeError) throw new TemplateError(`template execution failed: ${e.message}`);
    throw e instanceof Error ? new TemplateError(e.message) : new TemplateError(String(e));
  }
}
