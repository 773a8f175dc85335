import type { EventDependency, Sensor, Trigger } from '@ganglion/api';
import { actionId, triggerKey } from './action-id.js';
import type { SensorEvent } from './event.js';
import type { EventDecision } from './records.js';

/** A trigger fired by one event: the action to produce. */
export interface FiredTrigger {
  key: string;
  actionId: string;
  trigger: Trigger;
  dependency: string;
}

/** Dependencies of `sensor` that an event with CloudEvent `source`/`subject` satisfies (Argo matches eventSourceName/eventName). */
export function matchingDependencies(sensor: Sensor, source: string, subject: string | undefined): EventDependency[] {
  return sensor.spec.dependencies.filter((d) => d.eventSourceName === source && d.eventName === subject);
}

/**
 * The dependency names a trigger's condition consists of when it is a single dependency:
 * `conditions` naming one dependency, or no `conditions` on a one-dependency sensor (Argo's
 * default condition ANDs all dependencies). Anything else needs join state.
 */
export function singleDependencyOf(sensor: Sensor, trigger: Trigger): string | undefined {
  const cond = trigger.template.conditions?.trim();
  if (cond) return /^[A-Za-z0-9_-]+$/.test(cond) ? cond : undefined;
  return sensor.spec.dependencies.length === 1 ? sensor.spec.dependencies[0]!.name : undefined;
}

/**
 * Evaluates one event against one sensor: which dependencies it satisfies and which triggers
 * fire. Pure and deterministic: the action id depends only on the trigger and the event.
 */
export function evaluateSensorEvent(sensor: Sensor, namespace: string, event: SensorEvent): { decisions: EventDecision[]; fired: FiredTrigger[] } {
  const decisions: EventDecision[] = [];
  const fired: FiredTrigger[] = [];
  for (const dep of matchingDependencies(sensor, event.context.source, event.context.subject)) {
    const decision: EventDecision = { namespace, sensor: sensor.metadata.name, dependency: dep.name, triggers: [] };
    for (const trigger of sensor.spec.triggers) {
      const name = trigger.template.name;
      const single = singleDependencyOf(sensor, trigger);
      if (single === dep.name) {
        const key = triggerKey(namespace, sensor.metadata.name, name);
        const id = actionId(key, { [dep.name]: event });
        fired.push({ key, actionId: id, trigger, dependency: dep.name });
        decision.triggers.push({ trigger: name, result: 'fired', actionId: id });
      } else if (single === undefined) {
        decision.triggers.push({ trigger: name, result: 'not-supported', reason: 'multi-dependency conditions (joins) are not supported in this release' });
      }
    }
    decisions.push(decision);
  }
  return { decisions, fired };
}
