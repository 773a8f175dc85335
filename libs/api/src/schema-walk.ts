/**
 * Structural validation driven by the schema: types, enums, required fields, ranges, formats,
 * deprecated and unknown fields. Argo's semantic rules hook in by schema object name.
 */
import {
  checkCron,
  checkDateTime,
  checkDuration,
  checkTimeOfDay,
  checkTimezone,
} from './syntax.check.js';
import type { Node, ObjectNode } from './schema/dsl.schema.js';

/** One problem found in a manifest, with the path of the field it concerns. */
export interface ValidationIssue {
  /** Field path, e.g. `spec.triggers[1].template.http.url`. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Collects issues; `strict` turns unknown-field and deprecation warnings into errors. */
export class Collector {
  readonly issues: ValidationIssue[] = [];
  constructor(readonly strict = false) {}
  error(path: string, message: string): void {
    this.issues.push({ path, message, severity: 'error' });
  }
  warn(path: string, message: string): void {
    this.issues.push({ path, message, severity: this.strict ? 'error' : 'warning' });
  }
  requireString(obj: Obj, key: string, path: string): string | undefined {
    const v = obj[key];
    if (v === undefined || v === null || v === '') {
      this.error(`${path}.${key}`, 'is required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.error(`${path}.${key}`, `must be a string, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }
  optionalString(obj: Obj, key: string, path: string): string | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.error(`${path}.${key}`, `must be a string, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }
}

/** A semantic rule run on a value of a named schema object, after its structure was checked. */
export type ObjectRule = (value: Obj, path: string, ctx: WalkContext) => void;

export interface WalkContext {
  c: Collector;
  rules: Readonly<Record<string, ObjectRule>>;
  /** Replaces the default unknown-field warning for some objects (e.g. unknown source types are errors). */
  unknownField?: Readonly<Record<string, (key: string, path: string, ctx: WalkContext) => void>>;
}

const isAbsent = (v: unknown) => v === undefined || v === null;

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(
        d[j]! + 1,
        d[j - 1]! + 1,
        prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return d[b.length]!;
}

/** The known name closest to a misspelt one, if any is close. */
export function suggest(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = levenshtein(key, k);
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3))
    ? ` (did you mean "${best}"?)`
    : '';
}

function checkFormat(format: string | undefined, v: string, path: string, c: Collector): void {
  if (v === '') return;
  const bad =
    format === 'duration'
      ? checkDuration(v)
      : format === 'cron'
        ? checkCron(v)
        : format === 'timezone'
          ? checkTimezone(v)
          : format === 'hh:mm:ss'
            ? checkTimeOfDay(v)
            : format === 'date-time'
              ? checkDateTime(v)
              : undefined;
  if (bad) c.error(path, bad);
}

/** Validates `value` (present, not null) at `path` against `node`. */
export function walk(node: Node, value: unknown, path: string, ctx: WalkContext): void {
  const { c } = ctx;
  switch (node.kind) {
    case 'string':
      if (typeof value !== 'string') {
        const hint =
          typeof value === 'number' || typeof value === 'boolean'
            ? ` (quote it: "${String(value)}")`
            : '';
        return c.error(path, `must be a string, got ${typeName(value)}${hint}`);
      }
      if (node.enum && !node.enum.includes(value))
        return c.error(
          path,
          `must be one of ${node.enum.filter(Boolean).join(', ')}, got "${value}"`,
        );
      return checkFormat(node.format, value, path, c);
    case 'integer':
    case 'number':
      if (
        typeof value !== 'number' ||
        !Number.isFinite(value) ||
        (node.kind === 'integer' && !Number.isInteger(value))
      )
        return c.error(
          path,
          `must be ${node.kind === 'integer' ? 'an integer' : 'a number'}, got ${typeName(value) === 'a number' ? value : typeName(value)}`,
        );
      if (node.minimum !== undefined && value < node.minimum)
        return c.error(path, `must be at least ${node.minimum}, got ${value}`);
      if (node.kind === 'integer' && node.maximum !== undefined && value > node.maximum)
        return c.error(path, `must be at most ${node.maximum}, got ${value}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean')
        c.error(path, `must be true or false, got ${typeName(value)}`);
      return;
    case 'intOrString':
      if (typeof value === 'string') return;
      if (typeof value !== 'number' || !Number.isInteger(value))
        c.error(path, `must be an integer or a string, got ${typeName(value)}`);
      return;
    case 'free':
      if (!isObj(value)) c.error(path, `must be an object, got ${typeName(value)}`);
      return;
    case 'array':
      if (!Array.isArray(value)) return c.error(path, `must be a list, got ${typeName(value)}`);
      // An index loop, not forEach: a sparse array's holes are absent items, not skipped ones
      // (forEach would pass them, and a later .map() would carry the hole into the runtime).
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (isAbsent(item)) c.error(`${path}[${i}]`, 'must not be empty');
        else walk(node.items, item, `${path}[${i}]`, ctx);
      }
      return;
    case 'map':
      if (!isObj(value)) return c.error(path, `must be a map, got ${typeName(value)}`);
      for (const [k, v] of Object.entries(value)) {
        if (isAbsent(v)) c.error(`${path}.${k}`, 'must not be empty');
        else walk(node.values, v, `${path}.${k}`, ctx);
      }
      return;
    case 'ref':
      return walk(node.target(), value, path, ctx);
    case 'object':
      return walkObject(node, value, path, ctx);
  }
}

function walkObject(node: ObjectNode, value: unknown, path: string, ctx: WalkContext): void {
  const { c } = ctx;
  if (!isObj(value)) return c.error(path, `must be an object, got ${typeName(value)}`);
  const known = Object.keys(node.properties);
  for (const [k, v] of Object.entries(value)) {
    const child = node.properties[k];
    const p = `${path}.${k}`;
    if (!child) {
      const custom = node.name ? ctx.unknownField?.[node.name] : undefined;
      if (custom) custom(k, p, ctx);
      else c.warn(p, `unknown field "${k}"${suggest(k, known)}; it is ignored`);
      continue;
    }
    if (isAbsent(v)) continue;
    if (child.deprecated) c.warn(p, `is deprecated: ${child.deprecated}`);
    walk(child, v, p, ctx);
  }
  let missing = false;
  for (const r of node.required ?? []) {
    const v = value[r];
    const child = node.properties[r];
    if (isAbsent(v) || (v === '' && !(child?.kind === 'string' && child.allowEmpty))) {
      c.error(`${path}.${r}`, 'is required');
      missing = true;
    } else if (Array.isArray(v) && v.length === 0) {
      c.error(`${path}.${r}`, 'must not be empty');
      missing = true;
    }
  }
  for (const group of node.atLeastOne ?? [])
    if (
      group.every(
        (f) =>
          isAbsent(value[f]) ||
          value[f] === '' ||
          (Array.isArray(value[f]) && (value[f] as unknown[]).length === 0),
      )
    )
      c.error(
        path,
        group.length === 2
          ? `either ${group[0]} or ${group[1]} is required`
          : `one of ${group.join(', ')} is required`,
      );
  const rule = node.name ? ctx.rules[node.name] : undefined;
  if (rule && !missing) rule(value, path, ctx);
}
