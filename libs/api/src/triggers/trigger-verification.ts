import type { TriggerType } from '../types.js';

/**
 * Trigger types this release executes with their official client but has not verified against
 * a server (none is available to its tests): a Sensor using one is published as usual, and its
 * `Deployed` condition says so.
 */
const UNVERIFIED_TRIGGER_TYPES = [
  'azureEventHubs',
  'azureServiceBus',
] as const satisfies readonly TriggerType[];

/** The trigger types of a Sensor `spec` that are in {@link UNVERIFIED_TRIGGER_TYPES}, once each. */
export function unverifiedTriggerTypes(spec: unknown): string[] {
  const triggers = (spec as { triggers?: { template?: Record<string, unknown> }[] } | null)
    ?.triggers;
  if (!Array.isArray(triggers)) return [];
  const out = new Set<string>();
  for (const t of triggers)
    for (const type of UNVERIFIED_TRIGGER_TYPES) if (t?.template?.[type]) out.add(type);
  return [...out];
}

/** The sentence the reconciler adds to a Sensor's condition for {@link unverifiedTriggerTypes}. */
export function unverifiedTriggerMessage(types: readonly string[]): string {
  return `trigger type${types.length > 1 ? 's' : ''} ${types.join(', ')} ${types.length > 1 ? 'are' : 'is'} executed with the official client but not verified against a server`;
}
