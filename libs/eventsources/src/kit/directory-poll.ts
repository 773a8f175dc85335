import { eventBusTopic } from '@ganglion/api';
import { cloudEventRecord, naturalEventId } from './cloudevent.js';
import type { OwnedEvent, OwnedHost } from './owned-source.js';
import { publishTraced } from './push-ingress.runner.js';

/**
 * The shared half of the sources that watch a remote directory by listing it (sftp, hdfs): the
 * publishing of one change, and the poll loop. Each type keeps its own listing and its own diff
 * (Argo's operations differ by type).
 */

/**
 * Publishes one change of `ev` as a `type` event with data `data` (Argo's `{name, op,
 * metadata}`): its id derives from `change` (what identifies the change: path, operation, size,
 * time...), so the same change listed twice (a poll repeated after a failure, a restart, a
 * handover) is one event. Resolves once the bus acknowledged it.
 */
export function changePublisher(
  host: OwnedHost,
  ev: OwnedEvent<unknown>,
  type: string,
): (data: unknown, change: string) => Promise<void> {
  const producer = host.producers.forBus(ev.bus);
  const topic = eventBusTopic(ev.bus);
  const labels = {
    namespace: ev.namespace,
    eventsource_name: ev.eventSource,
    event_name: ev.eventName,
  };
  return async (data, change) => {
    const id = naturalEventId(ev.namespace, ev.eventSource, ev.eventName, change);
    const record = cloudEventRecord(
      {
        id,
        type,
        source: ev.eventSource,
        subject: ev.eventName,
        data,
        // Sensors match an event only in its EventSource's namespace (`ce_namespace`).
        namespace: ev.namespace,
      },
      `${ev.eventSource}.${ev.eventName}`,
    );
    await publishTraced(producer, topic, id, record, labels);
  };
}

/**
 * Runs `poll` every `intervalMs` (the next one `intervalMs` after the last one ended, never two at
 * once), the first one at once when `immediately`. `close` stops the loop and waits for a poll in
 * progress. `poll` handles its own errors.
 */
export function pollLoop(
  poll: () => Promise<void>,
  intervalMs: number,
  immediately: boolean,
): { close(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> = Promise.resolve();
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      polling = poll().finally(schedule);
    }, intervalMs);
  };
  if (immediately) polling = poll().finally(schedule);
  else schedule();
  return {
    close: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await polling;
    },
  };
}
