import type { Trigger } from '@ganglion/api';
import type { EventsByDependency, SensorEvent } from './event.js';

/**
 * Wire formats of the records services exchange on the actions and outcomes topics
 * (JSON values; docs/architecture.md §3). Versioned by `v` so readers can refuse what they don't know.
 */
export const RECORD_VERSION = 1;

class RecordFormatError extends Error {}

/** A satisfied trigger: what the trigger service executes (`P-actions`, keyed by trigger key). */
export interface ActionRecord {
  v: typeof RECORD_VERSION;
  actionId: string;
  namespace: string;
  sensor: string;
  /**
   * The trigger as specified when the action was produced (templates only, never secret
   * values), kept for observability: the trigger service executes the current Sensor's trigger
   * from its resource store, never this copy (docs/triggers/README.md "Whose template runs").
   */
  trigger: Trigger;
  /** The Sensor's `metadata.generation` the action was produced under (absent when the Sensor has none, as in local mode). */
  generation?: number;
  /**
   * Who the k8s and argoWorkflow triggers act as: set by the trigger service from the current
   * Sensor's `spec.template.serviceAccountName` when it impersonates; a value in a record read
   * from the bus is never used.
   */
  runAs?: string;
  events: EventsByDependency;
  createdAt: string;
}

/** What happened to an event or an action (`P-outcomes`), the answer to "why didn't it fire?". */
export type OutcomeRecord =
  | {
      v: 1;
      kind: 'event';
      eventId: string;
      source: string;
      subject: string;
      at: string;
      decisions: EventDecision[];
    }
  | { v: 1; kind: 'event-rejected'; offset: string; partition: number; at: string; reason: string }
  | {
      v: 1;
      kind: 'join';
      key: string;
      namespace: string;
      sensor: string;
      trigger: string;
      dependency: string;
      eventId: string;
      at: string;
      /** waiting: stored, the condition does not hold yet; fired: the action was produced; ignored: see reason. */
      result: 'waiting' | 'fired' | 'ignored';
      actionId?: string;
      /** Dependencies collected so far (waiting) or fired with. */
      have: string[];
      reason?: string;
    }
  | {
      v: 1;
      kind: 'action';
      actionId: string;
      namespace: string;
      sensor: string;
      trigger: string;
      at: string;
      status: ActionStatus;
      attempts: number;
      detail: string;
    };

/**
 * How an action ended: `succeeded`; `failed` (attempts exhausted or a non-retryable error, no
 * `dlqTrigger`); `dead-lettered` (attempts exhausted and the `dlqTrigger` ran); `unsupported`
 * (the trigger type is not executed by this build); `error` (not executed: its Sensor or trigger no
 * longer exists, its generation is unknown, or the record was altered; `detail` says which).
 * Every non-success is also on `P-dlq`.
 */
export type ActionStatus = 'succeeded' | 'failed' | 'dead-lettered' | 'unsupported' | 'error';

/** An action that did not succeed (`P-dlq`, keyed like the actions topic); redrive = produce `action` back to `P-actions`. */
export interface DeadLetterRecord {
  v: typeof RECORD_VERSION;
  action: ActionRecord;
  status: Exclude<ActionStatus, 'succeeded'>;
  /** The error of each attempt, in order. */
  errors: string[];
  /** What the `dlqTrigger` did, when one is set. */
  dlqTrigger?: { trigger: string; ok: boolean; detail: string; attempts: number };
  at: string;
}

/**
 * One sensor dependency the event is for: matched (after transform and filters), filtered out,
 * or `error` (its transform or a filter could not be evaluated: an error, a limit, a deadline;
 * docs/core.md "Limits"), and why.
 */
export interface EventDecision {
  namespace: string;
  sensor: string;
  dependency: string;
  result: 'matched' | 'filtered' | 'error';
  reason?: string;
  triggers: TriggerDecision[];
}

/** What a trigger did with a matched dependency event: fired at once, or sent to its join. */
export interface TriggerDecision {
  trigger: string;
  result: 'fired' | 'joining' | 'error';
  actionId?: string;
  reason?: string;
}

/** A dependency event on its way to a multi-dependency trigger's join (`P-joins`, keyed by trigger key). */
export interface JoinRecord {
  v: typeof RECORD_VERSION;
  namespace: string;
  sensor: string;
  trigger: string;
  dependency: string;
  event: SensorEvent;
}

export function decodeJoinRecord(value: Buffer | string | null): JoinRecord {
  if (value === null) throw new RecordFormatError('empty join record');
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString());
  } catch (err) {
    throw new RecordFormatError(`join record is not JSON: ${(err as Error).message}`);
  }
  const j = parsed as Partial<JoinRecord>;
  if (j.v !== RECORD_VERSION)
    throw new RecordFormatError(`unsupported join record version ${JSON.stringify(j.v)}`);
  if (
    typeof j.namespace !== 'string' ||
    typeof j.sensor !== 'string' ||
    typeof j.trigger !== 'string' ||
    typeof j.dependency !== 'string' ||
    !j.event?.context
  )
    throw new RecordFormatError(
      'join record lacks namespace, sensor, trigger, dependency or event',
    );
  return j as JoinRecord;
}

export function decodeActionRecord(value: Buffer | string | null): ActionRecord {
  if (value === null) throw new RecordFormatError('empty action record');
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString());
  } catch (err) {
    throw new RecordFormatError(`action record is not JSON: ${(err as Error).message}`);
  }
  const a = parsed as Partial<ActionRecord>;
  if (a.v !== RECORD_VERSION)
    throw new RecordFormatError(`unsupported action record version ${JSON.stringify(a.v)}`);
  if (
    typeof a.actionId !== 'string' ||
    typeof a.sensor !== 'string' ||
    typeof a.namespace !== 'string' ||
    !a.trigger?.template ||
    !a.events
  )
    throw new RecordFormatError(
      'action record lacks actionId, namespace, sensor, trigger or events',
    );
  return a as ActionRecord;
}
