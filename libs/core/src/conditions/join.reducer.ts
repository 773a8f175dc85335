/**
 * The per-trigger join: collects dependency events until the trigger's condition holds, then
 * fires with them. Mirrors Argo's sensor bus logic (`pkg/eventbus/{jetstream,kafka}/sensor`): the latest event
 * of a dependency replaces an earlier one that has not fired yet; firing clears the collected
 * events; a `conditionsReset` cron tick drops partially satisfied state, and events whose time is
 * before the last reset are ignored (Argo starts with `lastResetTime` = the previous cron time).
 *
 * Pure and JSON-serialisable: the caller persists `JoinState` (e.g. in a Kafka changelog).
 */
import type { EventsByDependency, SensorEvent } from '../event.js';
import {
  conditionDependencies,
  parseCron,
  parseTimezone,
  type ConditionAst,
  type CronSchedule,
} from '@ganglion/api';
import { compileCondition, evaluateCondition } from './condition.evaluator.js';
import { nextFire, previousFire } from './cron.schedule.js';

/** One `conditionsReset` entry: `{byTime: {cron, timezone}}`. */
interface ConditionsResetSpec {
  byTime?: { cron: string; timezone?: string };
}

interface CompiledReset {
  schedule: CronSchedule;
  timezone: string;
}

export interface JoinState {
  /** Epoch ms of the last reset (cron); events older than this are ignored. */
  lastResetMs: number;
  /** Collected, not-yet-fired events by dependency name. */
  events: EventsByDependency;
  /** Epoch ms of the next reset, cached so steps before it skip the cron search. */
  nextResetMs?: number;
}

interface DependencyEvent {
  dependency: string;
  event: SensorEvent;
}

interface StepResult {
  state: JoinState;
  /** Present when the condition became true: the events the trigger runs with. */
  fired?: EventsByDependency;
}

export interface Join {
  condition: ConditionAst;
  dependencies: readonly string[];
  resets: readonly CompiledReset[];
}

/** Compiles `conditionsReset`; throws CronSyntaxError for a bad cron, TimezoneError for a bad timezone. */
function compileResets(resets: readonly ConditionsResetSpec[] | undefined): CompiledReset[] {
  return (resets ?? []).flatMap((r) => {
    if (!r.byTime) return [];
    const schedule = parseCron(r.byTime.cron);
    const timezone = schedule.timezone ?? r.byTime.timezone ?? '';
    parseTimezone(timezone);
    return [{ schedule, timezone }];
  });
}

/** Compiles a trigger's join from its dependency names, `conditions` and `conditionsReset`. */
export function createJoin(
  dependencies: readonly string[],
  conditions?: string,
  resets?: readonly ConditionsResetSpec[],
): Join {
  const condition = compileCondition(conditions, dependencies);
  return {
    condition,
    dependencies: dependencies.length > 0 ? dependencies : conditionDependencies(condition),
    resets: compileResets(resets),
  };
}

/** The most recent reset time at or before `now`, or undefined when there are no resets. */
function lastResetTime(resets: readonly CompiledReset[], now: number): number | undefined {
  let best: number | undefined;
  for (const r of resets) {
    const t = previousFire(r.schedule, r.timezone, now);
    if (t !== undefined && (best === undefined || t > best)) best = t;
  }
  return best;
}

/** The earliest reset time strictly after `now`, or undefined. */
function nextResetTime(resets: readonly CompiledReset[], now: number): number | undefined {
  let best: number | undefined;
  for (const r of resets) {
    const t = nextFire(r.schedule, r.timezone, now);
    if (t !== undefined && (best === undefined || t < best)) best = t;
  }
  return best;
}

const withNext = (state: JoinState, next: number | undefined): JoinState => {
  const { nextResetMs: _old, ...rest } = state;
  return next === undefined ? rest : { ...rest, nextResetMs: next };
};

/** Initial state at start-up: `lastResetMs` is the previous cron time (0 without resets). */
export function initialJoinState(join: Join, now: number): JoinState {
  return withNext(
    { lastResetMs: lastResetTime(join.resets, now) ?? 0, events: {} },
    nextResetTime(join.resets, now),
  );
}

/**
 * Drops partial state when a reset time has passed since the state's last reset. The cron
 * search only runs once `now` reaches the cached `nextResetMs` (or when none is cached).
 */
export function applyReset(
  state: JoinState,
  resets: readonly CompiledReset[],
  now: number,
): JoinState {
  if (resets.length === 0) return state;
  if (state.nextResetMs !== undefined && now < state.nextResetMs) return state;
  const t = lastResetTime(resets, now);
  const next = nextResetTime(resets, now);
  if (t === undefined || t <= state.lastResetMs) return withNext(state, next);
  return withNext({ lastResetMs: t, events: {} }, next);
}

function eventTime(event: SensorEvent, fallback: number): number {
  const t = event.context.time === undefined ? NaN : Date.parse(event.context.time);
  return Number.isNaN(t) ? fallback : t;
}

/**
 * Feeds one dependency event. Resets are applied first; an event for a dependency the trigger
 * does not use, or older than the last reset, leaves the state unchanged.
 */
export function step(
  join: Join,
  state: JoinState,
  input: DependencyEvent,
  now: number,
): StepResult {
  const current = applyReset(state, join.resets, now);
  if (!join.dependencies.includes(input.dependency)) return { state: current };
  if (eventTime(input.event, now) < current.lastResetMs) return { state: current };
  const events: EventsByDependency = { ...current.events, [input.dependency]: input.event };
  if (evaluateCondition(join.condition, new Set(Object.keys(events)))) {
    return { state: { ...current, events: {} }, fired: events };
  }
  return { state: { ...current, events } };
}
