import {
  conditionDependencies,
  type EventDependency,
  type Sensor,
  type Trigger,
} from '@ganglion/api';
import { actionId, triggerKey } from './action-id.js';
import { compileCondition } from './conditions/condition.evaluator.js';
import {
  createJoin,
  initialJoinState,
  step,
  type Join,
  type JoinState,
} from './conditions/join.reducer.js';
import type { EventsByDependency, SensorEvent } from './event.js';
import { evaluateFilters } from './filters/filters.evaluator.js';
import type { EventDependencyFilter } from './filters/filter.types.js';
import type { EventDecision, TriggerDecision } from './records.js';
import type { JqLimits } from './transform/jq/jq.ast.js';
import type { LuaLimits } from './transform/lua.sandbox.js';
import {
  applyTransform,
  TransformError,
  type EventDependencyTransformer,
} from './transform/transform.js';

/**
 * Sensor evaluation in two stages (docs/architecture.md §3, §5), both pure and deterministic:
 * 1. {@link routeEvent}: an event from the bus is matched to the sensor's dependencies,
 *    transformed and filtered; a trigger whose condition is one dependency fires at once, the
 *    others receive the dependency event as a join input (produced to `P-joins`).
 * 2. {@link joinStep}: a join input is fed to the trigger's join state; when the condition
 *    holds the trigger fires with every dependency's event.
 * Time is the caller's `nowMs` (the sensor passes the record timestamp, so a replay decides
 * the same way).
 */

/** A trigger with its condition compiled. */
export interface CompiledTrigger {
  name: string;
  key: string;
  trigger: Trigger;
  /** Dependency names in the condition. */
  dependencies: string[];
  /** Set when the condition is exactly one dependency name: fires without join state. */
  single?: string;
  join?: Join;
  /** Why the trigger cannot be evaluated (bad condition or cron): reported, never fires. */
  error?: string;
}

export interface CompiledSensor {
  namespace: string;
  name: string;
  /** The Sensor's `metadata.generation`, stamped on its actions. */
  generation?: number;
  dependencies: EventDependency[];
  triggers: CompiledTrigger[];
  byName: Map<string, CompiledTrigger>;
}

export function compileSensor(sensor: Sensor, namespace: string): CompiledSensor {
  const depNames = sensor.spec.dependencies.map((d) => d.name);
  const triggers = sensor.spec.triggers.map((trigger): CompiledTrigger => {
    const name = trigger.template.name;
    const key = triggerKey(namespace, sensor.metadata.name, name);
    try {
      const ast = compileCondition(trigger.template.conditions, depNames);
      const dependencies = conditionDependencies(ast);
      if (ast.kind === 'dep') return { name, key, trigger, dependencies, single: ast.name };
      const join = createJoin(
        dependencies,
        trigger.template.conditions,
        trigger.template.conditionsReset as never,
      );
      return { name, key, trigger, dependencies, join };
    } catch (err) {
      return { name, key, trigger, dependencies: [], error: (err as Error).message };
    }
  });
  return {
    namespace,
    name: sensor.metadata.name,
    ...(sensor.metadata.generation !== undefined ? { generation: sensor.metadata.generation } : {}),
    dependencies: sensor.spec.dependencies,
    triggers,
    byName: new Map(triggers.map((t) => [t.name, t])),
  };
}

/** Dependencies an event with CloudEvent `source`/`subject` is for (Argo matches eventSourceName/eventName). */
function matchingDependencies(
  sensor: CompiledSensor,
  source: string,
  subject: string | undefined,
): EventDependency[] {
  return sensor.dependencies.filter((d) => d.eventSourceName === source && d.eventName === subject);
}

/** A satisfied trigger: the action to produce. */
export interface FiredTrigger {
  key: string;
  actionId: string;
  trigger: Trigger;
  events: EventsByDependency;
}

/** A dependency event for a multi-dependency trigger (a record on `P-joins`). */
interface JoinInput {
  key: string;
  trigger: string;
  dependency: string;
  event: SensorEvent;
}

/** Bounds of the transforms and filters a dependency runs (docs/core.md "Limits"); defaults when unset. */
export interface EvaluationLimits {
  jqLimits?: JqLimits;
  luaLimits?: LuaLimits;
}

export interface RouteResult {
  decisions: EventDecision[];
  fired: FiredTrigger[];
  joins: JoinInput[];
}

/**
 * Stage 1: the dependencies of `sensor` the event is for, each transformed (jq/Lua) and
 * filtered (exprs, data, context, time, script, combined by the logical operators); what each
 * interested trigger does with it.
 */
export function routeEvent(
  sensor: CompiledSensor,
  event: SensorEvent,
  nowMs: number,
  limits: EvaluationLimits = {},
): RouteResult {
  const out: RouteResult = { decisions: [], fired: [], joins: [] };
  for (const dep of matchingDependencies(sensor, event.context.source, event.context.subject)) {
    const base = { namespace: sensor.namespace, sensor: sensor.name, dependency: dep.name };
    // A dependency whose evaluation fails (an error, a limit, a deadline) gets an `error`
    // decision and the others go on: one bad transform never fails the record (issue 17).
    try {
      routeDependency(sensor, dep, event, nowMs, limits, out);
    } catch (err) {
      const reason =
        err instanceof TransformError
          ? err.message
          : `evaluation failed: ${err instanceof Error ? err.message : String(err)}`;
      out.decisions.push({ ...base, result: 'error', reason, triggers: [] });
    }
  }
  return out;
}

/** One dependency of {@link routeEvent}; throws when its evaluation fails. */
function routeDependency(
  sensor: CompiledSensor,
  dep: EventDependency,
  event: SensorEvent,
  nowMs: number,
  limits: EvaluationLimits,
  out: RouteResult,
): void {
  const base = { namespace: sensor.namespace, sensor: sensor.name, dependency: dep.name };
  let depEvent: SensorEvent = event;
  const data = applyTransform(
    dep.transform as EventDependencyTransformer | undefined,
    event.data,
    limits,
  );
  if (data !== event.data) depEvent = { context: event.context, data };
  const filter = evaluateFilters(dep.filters as EventDependencyFilter | undefined, depEvent, {
    now: new Date(nowMs),
    ...(limits.luaLimits ? { luaLimits: limits.luaLimits } : {}),
    ...(dep.filtersLogicalOperator ? { filtersLogicalOperator: dep.filtersLogicalOperator } : {}),
  });
  if (!filter.passed) {
    // The evaluator reports a sub-filter that could not be evaluated as "error: …" (it fails
    // the filter, as in Argo): an `error` decision, not a mere mismatch.
    const result = filter.reason.startsWith('error: ') ? 'error' : 'filtered';
    out.decisions.push({ ...base, result, reason: filter.reason, triggers: [] });
    return;
  }
  const triggers: TriggerDecision[] = [];
  const fired: FiredTrigger[] = [];
  const joins: JoinInput[] = [];
  for (const t of sensor.triggers) {
    if (t.error) {
      triggers.push({ trigger: t.name, result: 'error', reason: t.error });
      continue;
    }
    if (!t.dependencies.includes(dep.name)) continue;
    if (t.single !== undefined) {
      const events = { [dep.name]: depEvent };
      const id = actionId(t.key, events);
      fired.push({ key: t.key, actionId: id, trigger: t.trigger, events });
      triggers.push({ trigger: t.name, result: 'fired', actionId: id });
    } else {
      joins.push({ key: t.key, trigger: t.name, dependency: dep.name, event: depEvent });
      triggers.push({ trigger: t.name, result: 'joining' });
    }
  }
  // Only a dependency that completed adds its actions and join inputs.
  out.fired.push(...fired);
  out.joins.push(...joins);
  out.decisions.push({ ...base, result: 'matched', reason: filter.reason, triggers });
}

export interface JoinStepResult {
  state: JoinState;
  /** Present when the trigger fired. */
  fired?: FiredTrigger;
  /** The dependency event was not used (unknown dependency, or older than the last reset). */
  ignored?: string;
}

/** Stage 2: feeds one join input to the trigger's state (undefined: a fresh state). */
export function joinStep(
  trigger: CompiledTrigger,
  state: JoinState | undefined,
  input: { dependency: string; event: SensorEvent },
  nowMs: number,
): JoinStepResult {
  if (!trigger.join) throw new Error(`trigger ${trigger.key} has no join`);
  const before = state ?? initialJoinState(trigger.join, nowMs);
  const r = step(trigger.join, before, input, nowMs);
  if (r.fired)
    return {
      state: r.state,
      fired: {
        key: trigger.key,
        actionId: actionId(trigger.key, r.fired),
        trigger: trigger.trigger,
        events: r.fired,
      },
    };
  if (r.state.events[input.dependency] !== input.event) {
    const reason = trigger.dependencies.includes(input.dependency)
      ? 'the event is older than the last conditionsReset'
      : `"${input.dependency}" is not in the trigger's condition`;
    return { state: r.state, ignored: reason };
  }
  return { state: r.state };
}
