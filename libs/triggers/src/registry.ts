import type { SUPPORTED_TRIGGER_TYPES } from '@ganglion/api';
import { createHttpTrigger } from './http/http.trigger.js';
import { createLogTrigger } from './log/log.trigger.js';
import type { TriggerPlugin } from './trigger.js';

export type SupportedTriggerType = (typeof SUPPORTED_TRIGGER_TYPES)[number];

/**
 * The trigger plugins of this release, by template key. `satisfies` makes a supported type
 * without a plugin a compile error; an unsupported type is reported, never silently skipped.
 */
export function createTriggerRegistry() {
  return {
    log: createLogTrigger(),
    http: createHttpTrigger(),
  } as const satisfies Record<SupportedTriggerType, TriggerPlugin<never>>;
}
export type TriggerRegistry = ReturnType<typeof createTriggerRegistry>;
