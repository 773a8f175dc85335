export * from './types.js';
export * from './keys.js';
export {
  SOURCE_KINDS,
  notVerifiedMessage,
  unverifiedSourceTypes,
  type SourceKind,
  type SourceTypeOfKind,
} from './eventsources/source-kinds.js';
export {
  unverifiedTriggerTypes,
  unverifiedTriggerMessage,
} from './triggers/trigger-verification.js';
export { validateResource, formatIssue, type ValidationIssue } from './validate.js';
export * from './grammar/index.js';
export {
  checkCron,
  checkDuration,
  checkRegex,
  checkTimezone,
  checkTimeOfDay,
  parseConditionNames,
} from './syntax.check.js';
export { validateEventBusUpdate } from './update-rules.js';
export { parseManifests, normalizeResource } from './manifests.js';
export { generatedFiles } from './schema/generated-files.js';
