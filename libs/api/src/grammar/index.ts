/** The languages inside manifests, each with one parser that validation and the runtime share. */
export { parseCron, CronSyntaxError, type CronSchedule, type CronFields } from './cron.grammar.js';
export { parseGoDuration, parseNanosOrGoDuration } from './go-duration.grammar.js';
export { parseTimezone, TimezoneError } from './timezone.grammar.js';
export { parseTimeOfDay } from './time-of-day.grammar.js';
export {
  parseCondition,
  conditionDependencies,
  ConditionSyntaxError,
  type ConditionAst,
} from './condition.grammar.js';
export { parseRegex, RegexSyntaxError } from './regex.grammar.js';
