export type { EventContext, SensorEvent, EventsByDependency } from './event.js';
export { getPath, setPath, splitPath } from './paths.js';
export { resolveParameterSource, applyParameters, buildPayload, ParameterError, type ResolvedValue } from './parameters.js';
export { actionId, triggerKey } from './action-id.js';
export { RECORD_VERSION, decodeActionRecord, RecordFormatError, type ActionRecord, type OutcomeRecord, type EventDecision } from './records.js';
export { evaluateSensorEvent, matchingDependencies, singleDependencyOf, type FiredTrigger } from './sensor-match.js';
export * from './backoff/index.js';
export * from './ratelimit/index.js';
export * from './conditions/index.js';
