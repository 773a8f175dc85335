import { createHash } from 'node:crypto';
import type { EventsByDependency } from './event.js';

/**
 * Deterministic id of an action: the same trigger fired by the same events always gets the
 * same id, whatever replica computes it. Used as the idempotency key downstream.
 */
export function actionId(triggerKey: string, events: EventsByDependency): string {
  const h = createHash('sha256').update(triggerKey);
  for (const dep of Object.keys(events).sort())
    h.update(`\u0000${dep}=${events[dep]!.context.source}/${events[dep]!.context.id}`);
  return h.digest('hex').slice(0, 32);
}

/** Key of a trigger on the joins/actions topics: `<namespace>/<sensor>/<trigger>`. */
export function triggerKey(namespace: string, sensor: string, trigger: string): string {
  return `${namespace}/${sensor}/${trigger}`;
}
