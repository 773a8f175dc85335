import type { SUPPORTED_EVENT_SOURCE_TYPES } from '@ganglion/api';
import type { PushSource } from './kit/push-source.js';
import { webhookSource } from './webhook/webhook.source.js';

/**
 * Every source type this release runs, picked by its spec key. `satisfies` makes a supported
 * type without a plugin a compile error; an unknown type is a validation error upstream.
 */
export const pushSources = {
  webhook: webhookSource,
} as const satisfies Record<(typeof SUPPORTED_EVENT_SOURCE_TYPES)[number], PushSource<never>>;
