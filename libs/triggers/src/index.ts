export { createTriggerRegistry, closeTriggerRegistry, type TriggerRegistry } from './registry.js';
export { TriggerExecutor, type ActionOutcome } from './executor/trigger.executor.js';
export { TriggerRunner, type TriggerRunnerOptions, type TriggerSettings } from './runner/trigger.runner.js';
