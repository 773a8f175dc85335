/** The languages inside manifests, each with one parser that validation and the runtime share. */
export { parseCron, CronSyntaxError, type CronSchedule, type CronFields, type CronEvery } from './cron.grammar.js';
export { parseGoDuration, parseNanosOrGoDuration, DurationSyntaxError } from './go-duration.grammar.js';
export { parseTimezone, TimezoneError } from './timezone.grammar.js';
export { parseTimeOfDay, TimeOfDaySyntaxError } from './time-of-day.grammar.js';
export { parseCondition, conditionDependencies, ConditionSyntaxError, type ConditionAst } from './condition.grammar.js';
export { parseRegex, RegexSyntaxError } from './regex.grammar.js';
