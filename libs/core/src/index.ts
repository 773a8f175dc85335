export type { EventContext, SensorEvent, EventsByDependency } from './event.js';
export { getPath, setPath, splitPath } from './paths.js';
export { resolveParameterSource, applyParameters, buildPayload, ParameterError, type ResolvedValue } from './parameters.js';
export { actionId, triggerKey } from './action-id.js';
export { RECORD_VERSION, decodeActionRecord, decodeJoinRecord, RecordFormatError, type ActionRecord, type OutcomeRecord, type EventDecision, type TriggerDecision, type JoinRecord, type ActionStatus, type DeadLetterRecord } from './records.js';
export { compileSensor, routeEvent, joinStep, matchingDependencies, type CompiledSensor, type CompiledTrigger, type FiredTrigger, type JoinInput, type RouteResult, type JoinStepResult } from './sensor-match.js';
export * from './backoff/index.js';
export * from './ratelimit/index.js';
export * from './conditions/index.js';
export * from './govaluate/index.js';
export * from './expr/index.js';
export { type ParameterOptions } from './parameters.js';
export {
  parseTemplate,
  executeTemplate,
  renderTemplate,
  renderInputTemplate,
  TemplateError,
  type ParsedTemplate,
  type ExecuteOptions as TemplateOptions,
  type TemplateFunction,
} from './template/index.js';
export {
  evaluateFilters,
  evaluateDataFilters,
  evaluateContextFilter,
  evaluateTimeFilter,
  evaluateScriptFilter,
  type FilterOptions,
  type FilterResult,
  type ExprFiltersEvaluator,
  type DataFilter,
  type ContextFilter,
  type TimeFilter,
  type EventDependencyFilter,
} from './filters/index.js';
export {
  applyTransform,
  TransformError,
  compileJq,
  runJq,
  JqError,
  runLua,
  LuaError,
  type EventDependencyTransformer,
  type TransformOptions,
  type JqProgram,
  type JqLimits,
  type LuaLimits,
} from './transform/index.js';
export { PositionedSyntaxError } from './syntax-error.js';
