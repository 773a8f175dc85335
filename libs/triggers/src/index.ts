export type { TriggerPlugin, TriggerContext, TriggerResult } from './trigger.js';
export { createLogTrigger } from './log/log.trigger.js';
export { createHttpTrigger } from './http/http.trigger.js';
export { createTriggerRegistry, type TriggerRegistry, type SupportedTriggerType } from './registry.js';
