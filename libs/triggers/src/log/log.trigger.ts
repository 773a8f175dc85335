import type { LogTrigger } from '@ganglion/api';
import type { TriggerPlugin } from '../trigger.js';

/**
 * Argo's `log` trigger: logs each dependency's event data with its context, at most once per
 * `intervalSeconds` per trigger (0: every action).
 */
export function createLogTrigger(write?: (line: string) => void): TriggerPlugin<LogTrigger> {
  const lastPrinted = new Map<string, number>();
  return {
    type: 'log',
    async execute(template, _trigger, events, ctx) {
      const key = `${ctx.namespace}/${ctx.sensorName}/${ctx.triggerName}`;
      const intervalMs = (template.intervalSeconds ?? 0) * 1000;
      const now = ctx.now().getTime();
      const last = lastPrinted.get(key);
      if (intervalMs > 0 && last !== undefined && now - last < intervalMs)
        return { ok: true, detail: 'throttled by intervalSeconds' };
      lastPrinted.set(key, now);
      for (const [dependency, event] of Object.entries(events)) {
        const data = typeof event.data === 'string' ? event.data : JSON.stringify(event.data);
        if (write) write(data);
        else
          ctx.logger.info(data, {
            trigger: ctx.triggerName,
            sensor: ctx.sensorName,
            dependency,
            actionId: ctx.actionId,
            eventContext: event.context,
          });
      }
      return { ok: true, detail: `logged ${Object.keys(events).length} event(s)` };
    },
  };
}
