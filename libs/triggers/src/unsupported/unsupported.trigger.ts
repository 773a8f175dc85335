import type { TriggerType } from '@ganglion/api';
import type { TriggerPlugin } from '../trigger.js';

/**
 * A trigger type accepted by validation (Argo manifests apply unchanged) that this build does
 * not execute: each action ends with the outcome `unsupported` and this reason, and is kept on
 * the DLQ topic for a redrive once a build supports it. Never silently dropped.
 */
export function createUnsupportedTrigger(
  type: TriggerType,
  reason: string,
): TriggerPlugin<unknown> {
  return {
    type,
    async execute() {
      return {
        ok: false,
        error: `trigger type "${type}" is not yet supported in this build of Ganglion: ${reason}`,
        retryable: false,
        unsupported: true,
      };
    },
  };
}
