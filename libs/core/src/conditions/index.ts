export {
  parseCondition,
  compileCondition,
  defaultCondition,
  conditionDependencies,
  evaluateCondition,
  ConditionSyntaxError,
  type ConditionAst,
} from './condition.parser.js';
export { parseCron, nextFire, previousFire, checkTimezone, wallClock, CronSyntaxError, type CronSchedule } from './cron.parser.js';
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
