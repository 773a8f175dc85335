import type { ResourceEventSource, Selector } from '@ganglion/api';
import { compileRe2, getPath, re2Find } from '@ganglion/core';

/**
 * The `filter` of a `resource` event: `labels` become a server-side label selector (Kubernetes
 * `labels.Selector` syntax, as Argo builds it); `fields`, `prefix`, `createdBy` and
 * `afterStart` are checked on each object, as in Argo's `passFilters`.
 */

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkKey(key: string): void {
  const slash = key.indexOf('/');
  const [prefix, name] = slash < 0 ? ['', key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (slash >= 0 && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    throw new Error(`label key ${JSON.stringify(key)}: the prefix must be a DNS subdomain`);
  if (!name || name.length > 63 || !NAME.test(name))
    throw new Error(
      `label key ${JSON.stringify(key)}: the name must be 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric`,
    );
}

function checkValue(key: string, value: string): void {
  if (value.length > 63 || (value !== '' && !NAME.test(value)))
    throw new Error(
      `label ${JSON.stringify(key)}: invalid value ${JSON.stringify(value)} (at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric)`,
    );
}

/** One Argo selector as a Kubernetes label requirement (`LabelReq`): `key=v`, `key in (a,b)`, `!key`, `key>3`. */
function labelRequirement(sel: Selector): string {
  const op = sel.operation || '=';
  const value = sel.value ?? '';
  checkKey(sel.key);
  switch (op) {
    case '=':
    case '==':
    case '!=':
      checkValue(sel.key, value);
      return `${sel.key}${op}${value}`;
    case 'in':
    case 'notin': {
      const values = [...new Set(value.split(','))].sort();
      values.forEach((v) => checkValue(sel.key, v));
      return `${sel.key} ${op} (${values.join(',')})`;
    }
    case 'exists':
    case '!':
      if (value !== '')
        throw new Error(`label ${JSON.stringify(sel.key)}: operation "${op}" takes no value`);
      return op === 'exists' ? sel.key : `!${sel.key}`;
    case 'gt':
    case 'lt':
      if (!/^-?\d+$/.test(value))
        throw new Error(
          `label ${JSON.stringify(sel.key)}: operation "${op}" needs an integer value, got ${JSON.stringify(value)}`,
        );
      return `${sel.key}${op === 'gt' ? '>' : '<'}${value}`;
    default:
      throw new Error(
        `label ${JSON.stringify(sel.key)}: unknown operation ${JSON.stringify(op)} (=, ==, !=, in, notin, exists, !, gt, lt)`,
      );
  }
}

/** The label selector of `filter.labels` (requirements sorted by key, as `labels.Selector.String()`), or undefined. */
export function labelSelector(labels: Selector[] | undefined): string | undefined {
  if (!labels?.length) return undefined;
  const reqs = labels.map((s) => ({ key: s.key, text: labelRequirement(s) }));
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return reqs.map((r) => r.text).join(',');
}

/** The text gjson gives a value (`Result.String()`): strings as they are, other values as JSON. */
function gjsonString(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v) ?? '';
}

/**
 * `filter.fields` as a predicate over the object: each `key` is a gjson path that must exist
 * and whose value must match (`=`/`==`, the default) or not match (`!=`) the RE2 regex `value`
 * (unanchored, as Go's `regexp.Match`). All fields must pass.
 */
export function fieldsPredicate(fields: Selector[] | undefined): (obj: unknown) => boolean {
  if (!fields?.length) return () => true;
  const checks = fields.map((f) => {
    const op = f.operation || '=';
    if (op !== '=' && op !== '==' && op !== '!=')
      throw new Error(
        `field ${JSON.stringify(f.key)}: operation ${JSON.stringify(op)} is not supported for fields (=, ==, !=)`,
      );
    if (!f.key) throw new Error('field selector: key must not be empty');
    compileRe2(f.value ?? '');
    return { path: f.key, negate: op === '!=', pattern: f.value ?? '' };
  });
  return (obj) =>
    checks.every((c) => {
      const v = getPath(obj, c.path);
      if (v === undefined) return false;
      const match = re2Find(c.pattern, gjsonString(v));
      return c.negate ? !match : match;
    });
}

/** Checks a `resource` event's configuration (what Argo's `ValidateEventSource` and the informer setup reject). */
export function validateResourceSource(cfg: ResourceEventSource): void {
  if (!cfg.version) throw new Error('version must be specified');
  if (!cfg.resource) throw new Error('resource must be specified');
  if (!cfg.eventTypes?.length) throw new Error('event types must be specified');
  for (const t of cfg.eventTypes)
    if (t !== 'ADD' && t !== 'UPDATE' && t !== 'DELETE')
      throw new Error(`unknown event type: ${String(t)}`);
  labelSelector(cfg.filter?.labels);
  fieldsPredicate(cfg.filter?.fields);
  if (cfg.filter?.createdBy && Number.isNaN(Date.parse(cfg.filter.createdBy)))
    throw new Error(
      `filter.createdBy ${JSON.stringify(cfg.filter.createdBy)} is not an RFC 3339 time`,
    );
}
