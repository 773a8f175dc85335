import { cappedDoubling } from '@ganglion/core';
import type { Logger } from '@ganglion/telemetry';

export interface SerialReconcileOptions {
  /** Brings the owner's consumers in line with its resources; safe to run again. */
  run: () => Promise<void>;
  logger: Logger;
  /** What a run is, for the log (`consumer restart`). */
  what: string;
  /** First wait before running a failed reconcile again (ms, default 1 000); doubles up to `maxDelayMs` (30 000). */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs an owner's reconcile (a sensor's or trigger's consumers against the resources) one at a
 * time, in the order asked. One that fails is run again, backing off, until a run succeeds or
 * the owner stops: a bus whose consumption failed to start (a topic not there yet, the broker
 * down) is retried without waiting for the next resource change, which may never come.
 */
export class SerialReconcile {
  private chain: Promise<void> = Promise.resolve();
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;

  constructor(private readonly o: SerialReconcileOptions) {}

  /**
   * Queues a run after those already asked for; the promise settles with it. A failure is
   * logged and retried here whether or not the caller handles the rejection too.
   */
  request(): Promise<void> {
    const run = this.chain.then(() => (this.stopped ? undefined : this.o.run()));
    this.chain = run.then(
      () => {
        this.failures = 0;
        clearTimeout(this.retry);
      },
      (err: unknown) => {
        if (this.stopped) return;
        const retryInMs = cappedDoubling(
          this.o.initialDelayMs ?? 1_000,
          this.o.maxDelayMs ?? 30_000,
          ++this.failures,
        );
        this.o.logger.error(`${this.o.what} failed; trying again`, { error: err, retryInMs });
        clearTimeout(this.retry);
        this.retry = setTimeout(() => void this.request().catch(() => undefined), retryInMs);
        this.retry.unref();
      },
    );
    return run;
  }

  /** No more runs or retries; waits for the run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.chain;
  }
}
