export type { SensorEvent, EventsByDependency } from './event.js';
export { getPath } from './paths.js';
export {
  resolveParameterSource,
  applyParameters,
  buildPayload,
  ParameterError,
} from './parameters.js';
export { actionId, triggerKey } from './action-id.js';
export {
  RECORD_VERSION,
  decodeActionRecord,
  decodeJoinRecord,
  type ActionRecord,
  type OutcomeRecord,
  type JoinRecord,
  type ActionStatus,
  type DeadLetterRecord,
} from './records.js';
export {
  compileSensor,
  routeEvent,
  joinStep,
  type CompiledSensor,
  type EvaluationLimits,
  type FiredTrigger,
  type RouteResult,
} from './sensor-match.js';
export * from './backoff/index.js';
export * from './ratelimit/index.js';
export * from './conditions/index.js';
export * from './govaluate/index.js';
export * from './expr/index.js';
