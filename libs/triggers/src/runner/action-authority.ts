import type { Sensor, Trigger } from '@ganglion/api';
import { actionId, triggerKey, type ActionRecord } from '@ganglion/core';

/**
 * What the trigger service may execute for an action: the trigger of the current Sensor from
 * the control plane's resource store, never the template copied into the action record (whoever
 * can write to `P-actions` must not choose what runs). docs/triggers/README.md "Whose template runs".
 *
 * - `run`: execute `trigger` (the Sensor's current one);
 * - `wait`: the record names a Sensor generation (or a Sensor) this store has not seen yet; the
 *   caller waits for the store to catch up, then asks again with `final` set;
 * - `reject`: never execute; `reason` says why (it becomes the `error` outcome's detail).
 */
type Authority =
  | { verdict: 'run'; trigger: Trigger; sensor: Sensor }
  | { verdict: 'wait'; reason: string }
  | { verdict: 'reject'; reason: string };

interface AuthorityInput {
  action: ActionRecord;
  /** The record's Kafka key (`<namespace>/<sensor>/<trigger>`). */
  key: string;
  /** The Sensor named by the action, as the store holds it now. */
  sensor: Sensor | undefined;
  /** True when the store saw this Sensor deleted (a tombstone), so waiting cannot help. */
  deleted: boolean;
  /** True after waiting: a `wait` becomes a `reject`. */
  final: boolean;
}

/** JSON with object keys sorted, so two equal values compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function authorizeAction({
  action,
  key,
  sensor,
  deleted,
  final,
}: AuthorityInput): Authority {
  const name = action.trigger.template.name;
  const named = `Sensor ${action.namespace}/${action.sensor}`;
  const expectedKey = triggerKey(action.namespace, action.sensor, name);
  if (key !== expectedKey)
    return {
      verdict: 'reject',
      reason: `the record was altered: its key ${JSON.stringify(key)} is not its trigger's ${JSON.stringify(expectedKey)}`,
    };
  if (actionId(expectedKey, action.events) !== action.actionId)
    return {
      verdict: 'reject',
      reason: 'the record was altered: its action id does not match its trigger and events',
    };
  const wanted = action.generation;
  const known = sensor?.metadata.generation;
  if (!sensor) {
    const reason = `${named} ${deleted ? 'no longer exists' : 'does not exist'}`;
    return { verdict: deleted || final ? 'reject' : 'wait', reason };
  }
  if (wanted !== undefined && known !== undefined && wanted > known)
    return {
      verdict: final ? 'reject' : 'wait',
      reason: `the action is for generation ${wanted} of ${named}; the resource store has generation ${known}`,
    };
  const trigger = sensor.spec.triggers.find((t) => t.template?.name === name);
  if (!trigger)
    return {
      verdict: 'reject',
      reason: `${named} has no trigger ${JSON.stringify(name)}${known !== undefined ? ` (generation ${known})` : ''}`,
    };
  if (wanted !== undefined && wanted === known && canonical(trigger) !== canonical(action.trigger))
    return {
      verdict: 'reject',
      reason: `the record was altered: its trigger ${JSON.stringify(name)} differs from generation ${known} of ${named}`,
    };
  return { verdict: 'run', trigger, sensor };
}
