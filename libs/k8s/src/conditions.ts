/**
 * Status conditions as Argo Events writes them (`pkg/apis/events/v1alpha1/status_types.go`):
 * `{type, status, reason, message, lastTransitionTime}`, sorted by type, plus Kubernetes'
 * `observedGeneration`. Pure functions: the caller passes `now`.
 */
type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ResourceStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  [extra: string]: unknown;
}

/** A desired condition, without its transition time. */
export type DesiredCondition = Omit<Condition, 'lastTransitionTime'>;

/**
 * The conditions after applying `desired`: a condition whose status did not change keeps its
 * `lastTransitionTime` (reason and message may change); conditions of other types are kept
 * only if listed in `keepTypes`. Sorted by type, as Argo does.
 */
export function mergeConditions(
  current: readonly Condition[] | undefined,
  desired: readonly DesiredCondition[],
  now: Date,
): Condition[] {
  const byType = new Map((current ?? []).map((c) => [c.type, c]));
  const out = desired.map((d): Condition => {
    const prev = byType.get(d.type);
    const lastTransitionTime =
      prev && prev.status === d.status && prev.lastTransitionTime
        ? prev.lastTransitionTime
        : rfc3339(now);
    return {
      type: d.type,
      status: d.status,
      ...(d.reason ? { reason: d.reason } : {}),
      ...(d.message ? { message: d.message } : {}),
      lastTransitionTime,
    };
  });
  return out.sort((a, b) => a.type.localeCompare(b.type));
}

/** Kubernetes `metav1.Time`: RFC 3339 with second precision. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Structural equality of two JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ak = Object.keys(a as object).filter(
    (k) => (a as Record<string, unknown>)[k] !== undefined,
  );
  const bk = Object.keys(b as object).filter(
    (k) => (b as Record<string, unknown>)[k] !== undefined,
  );
  return (
    ak.length === bk.length &&
    ak.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

/**
 * The status to write, or `undefined` when `current` already says the same (so an unchanged
 * object gets no write: no update storms).
 */
export function nextStatus(
  current: ResourceStatus | undefined,
  desired: readonly DesiredCondition[],
  generation: number | undefined,
  now: Date,
  extra: Record<string, unknown> = {},
): ResourceStatus | undefined {
  const conditions = mergeConditions(current?.conditions, desired, now);
  const next: ResourceStatus = {
    ...(current ?? {}),
    ...extra,
    conditions,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  return jsonEqual(current ?? {}, next) ? undefined : next;
}

/** Argo's `IsReady`: every condition is True. */
export function isReady(status: ResourceStatus | undefined): boolean {
  const c = status?.conditions ?? [];
  return c.length > 0 && c.every((x) => x.status === 'True');
}
