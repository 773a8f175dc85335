import { cappedDoubling } from '@ganglion/core';

/**
 * A de-duplicating, rate-limited work queue of keys, as client-go's `workqueue`: a key added
 * several times before it is processed is processed once; a key is never processed by two
 * workers at once (an add during processing re-queues it once afterwards); a failed key is
 * retried with exponential backoff per key, and {@link WorkQueue.forget} resets its backoff.
 * Reconcilers are level-triggered: the handler reads the current state for the key.
 */
export interface WorkQueueOptions {
  /** Parallel workers (default 2). */
  concurrency?: number;
  /** First retry delay in ms (default 100). */
  baseDelayMs?: number;
  /** Longest retry delay in ms (default 60 000). */
  maxDelayMs?: number;
  /** Called when the handler throws (the key is retried). */
  onError?: (key: string, err: unknown, retryInMs: number) => void;
}

export type KeyHandler = (key: string) => Promise<void>;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly waiters: (() => void)[] = [];
  private running = 0;
  private stopped = false;
  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly handler: KeyHandler,
    private readonly options: WorkQueueOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 2;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
  }

  /** Number of keys waiting (not counting those in process or delayed). */
  get length(): number {
    return this.queue.length;
  }

  /** Queues `key` unless it is already waiting. */
  add(key: string): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (!this.processing.has(key)) {
      this.queue.push(key);
      this.pump();
    }
  }

  /** Queues `key` after `ms` (an earlier pending delayed add wins). */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    if (this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    t.unref();
    this.timers.set(key, t);
  }

  /** Clears the failure count of `key` (after a successful reconcile). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Resolves when nothing is queued or in process. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops taking work; resolves when the keys in process are done. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.dirty.clear();
    await this.idle();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.dirty.delete(key);
      this.processing.add(key);
      this.running++;
      void this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    try {
      await this.handler(key);
      this.forget(key);
    } catch (err) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = cappedDoubling(this.baseDelayMs, this.maxDelayMs, n);
      this.options.onError?.(key, err, delay);
      this.addAfter(key, delay);
    } finally {
      this.processing.delete(key);
      this.running--;
      if (this.dirty.has(key) && !this.stopped) this.queue.push(key);
      this.pump();
      if (this.queue.length === 0 && this.running === 0) this.waiters.splice(0).forEach((w) => w());
    }
  }
}
