export { createTriggerRegistry, closeTriggerRegistry, type TriggerRegistry } from './registry.js';
export { TriggerExecutor, type ActionOutcome } from './executor/trigger.executor.js';
