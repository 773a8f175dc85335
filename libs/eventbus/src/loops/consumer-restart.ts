import type { Consumer } from 'kafkajs';
import { cappedDoubling } from '@ganglion/core';
import type { Logger } from '@ganglion/telemetry';

export interface ConsumerRestartOptions {
  logger: Logger;
  /** What the consumer is, for the log (`consumer`, `reader`, ...). */
  what: string;
  /** Log fields naming it (topics, bus). */
  fields?: Record<string, unknown>;
  /** The owner's current consumer: a restart stops once another one replaced `crashed`. */
  current: () => Consumer | undefined;
  /** The owner is stopping: no restart. */
  stopping: () => boolean;
  /** Creates, connects and runs a new consumer (and makes it the owner's current one). */
  start: () => Promise<void>;
  /** First wait before a new consumer (ms, default 1 000); doubles up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Replaces a consumer that crashed with an error kafkajs does not restart from (it restarts
 * after retriable errors by itself). The first new consumer may fail to start too, typically
 * because the broker is still down: the attempts go on, backing off, until one runs or the
 * owner stops. (Giving up after one failed attempt left a sensor that never consumed again
 * after a broker restart.)
 */
export function restartCrashedConsumer(crashed: Consumer, o: ConsumerRestartOptions): void {
  const delay = (attempt: number) =>
    cappedDoubling(o.initialDelayMs ?? 1_000, o.maxDelayMs ?? 10_000, attempt);
  void (async () => {
    await crashed.disconnect().catch(() => undefined);
    let replaced = crashed;
    for (let attempt = 1; ; attempt++) {
      await new Promise((r) => setTimeout(r, delay(attempt)));
      if (o.stopping() || o.current() !== replaced) return;
      try {
        await o.start();
        if (attempt > 1) o.logger.info(`a new ${o.what} started`, { ...o.fields, attempt });
        return;
      } catch (err) {
        // The failed attempt's consumer is the current one now: the next attempt replaces it.
        const failed = o.current();
        if (failed && failed !== replaced) {
          replaced = failed;
          await failed.disconnect().catch(() => undefined);
        }
        o.logger.warn(`could not start a new ${o.what}; trying again`, {
          ...o.fields,
          attempt,
          retryInMs: delay(attempt + 1),
          error: err,
        });
      }
    }
  })();
}
