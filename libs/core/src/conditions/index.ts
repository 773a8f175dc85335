// The parsers are libs/api's grammars (one per language); re-exported for code that imports them from here.
export { parseCondition, conditionDependencies, ConditionSyntaxError, parseCron, CronSyntaxError, type ConditionAst, type CronSchedule } from '@ganglion/api';
export { compileCondition, defaultCondition, evaluateCondition } from './condition.evaluator.js';
export { nextFire, previousFire, wallClock } from './cron.schedule.js';
export {
  createJoin,
  compileResets,
  initialJoinState,
  applyReset,
  lastResetTime,
  nextResetTime,
  step,
  type Join,
  type JoinState,
  type DependencyEvent,
  type StepResult,
  type CompiledReset,
  type ConditionsResetSpec,
} from './join.reducer.js';
