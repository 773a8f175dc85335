export type { EventContext, SensorEvent, EventsByDependency } from './event.js';
export { getPath, setPath, splitPath } from './paths.js';
export { resolveParameterSource, applyParameters, buildPayload, ParameterError, type ResolvedValue } from './parameters.js';
export { actionId, triggerKey } from './action-id.js';
