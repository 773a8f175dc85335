import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '@ganglion/telemetry';

/** V8's `gc()` extension (`--expose-gc`). */
type GcFunction = (options?: {
  type?: 'major' | 'minor';
  execution?: 'sync' | 'async';
  flavor?: 'regular' | 'last-resort';
}) => void;

let gcFunction: GcFunction | undefined;

/**
 * V8's `gc()`: the global one when the process was started with `--expose-gc`, otherwise one
 * taken from a fresh context created while the flag is briefly on (the flag is turned off
 * again, so no other code sees a global `gc`).
 */
function gc(): GcFunction {
  if (gcFunction) return gcFunction;
  const exposed = (globalThis as { gc?: GcFunction }).gc;
  if (typeof exposed === 'function') return (gcFunction = exposed);
  setFlagsFromString('--expose-gc');
  try {
    gcFunction = runInNewContext('gc') as GcFunction;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  return gcFunction;
}

export interface Compaction {
  /** Resident memory before and after, MiB (`process.memoryUsage.rss()`). */
  rssBeforeMiB: number;
  rssAfterMiB: number;
  /** How long the process stood still, ms. */
  ms: number;
}

const MIB = 1024 * 1024;

/**
 * One last-resort garbage collection: V8 collects everything it can, compacts, shrinks its
 * young generation and hands free pages back to the system. Its regular and memory-reducing
 * collections keep those pages (measured on the trigger after start-up: a regular full
 * collection 43 → 41 MiB anonymous memory, the last-resort one 43 → 35). It stops the process
 * for 0.2–1.2 s on this machine kind, so it runs only when the process is quiet.
 */
export function compactHeap(): Compaction {
  const collect = gc();
  const rssBefore = process.memoryUsage.rss();
  const start = performance.now();
  collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const ms = performance.now() - start;
  const round = (bytes: number) => Math.round((bytes / MIB) * 10) / 10;
  return {
    rssBeforeMiB: round(rssBefore),
    rssAfterMiB: round(process.memoryUsage.rss()),
    ms: Math.round(ms),
  };
}

/** Event-loop utilisation below which a check window counts as quiet. */
const QUIET_UTILIZATION = 0.05;
/** Growth of resident memory since the last compaction that makes a quiet window compact again. */
export const REGROWTH_MIB = 16;

/**
 * Whether a check should compact: the window was quiet (the process did little, so a pause of
 * a second costs nothing) and resident memory grew since the last compaction by at least
 * {@link REGROWTH_MIB} (start-up's growth was given back already; this is a burst's).
 */
export function shouldCompact(window: {
  utilization: number;
  rssMiB: number;
  lastAfterMiB: number;
}): boolean {
  return (
    window.utilization < QUIET_UTILIZATION && window.rssMiB - window.lastAfterMiB >= REGROWTH_MIB
  );
}

export interface HeapCompactorOptions {
  /** Seconds after start-up of the first compaction; 0 turns compaction off. */
  afterStartSeconds: number;
  /** How often the quiet-and-regrown check runs afterwards (ms; default 60 000). */
  checkMs?: number;
  logger: Logger;
}

/**
 * Gives back what a service's heap grew to while it started, and after each burst of work once
 * the process is quiet again: V8 otherwise keeps those pages for ever (docs/benchmarks.md,
 * "Sixth pass"). One timer, unreferenced; a check is a read of the event-loop utilisation and
 * the resident size, once a minute.
 */
export class HeapCompactor {
  private timer: NodeJS.Timeout | undefined;
  private lastAfterMiB = Infinity;
  private lastElu: EventLoopUtilization | undefined;

  constructor(private readonly options: HeapCompactorOptions) {}

  start(): void {
    if (this.options.afterStartSeconds <= 0) return;
    this.timer = setTimeout(() => {
      this.run('after start-up');
      this.lastElu = performance.eventLoopUtilization();
      this.timer = setInterval(() => this.check(), this.options.checkMs ?? 60_000).unref();
    }, this.options.afterStartSeconds * 1000).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const now = performance.eventLoopUtilization();
    const window = performance.eventLoopUtilization(now, this.lastElu);
    this.lastElu = now;
    const rssMiB = process.memoryUsage.rss() / MIB;
    if (shouldCompact({ utilization: window.utilization, rssMiB, lastAfterMiB: this.lastAfterMiB }))
      this.run('quiet after a burst');
    // What the compaction took is not this window's work.
    this.lastElu = performance.eventLoopUtilization();
  }

  private run(reason: string): void {
    try {
      const result = compactHeap();
      this.lastAfterMiB = result.rssAfterMiB;
      this.options.logger.info('heap compacted', { reason, ...result });
    } catch (err) {
      this.options.logger.warn('heap compaction failed; not trying again', { error: err });
      this.stop();
    }
  }
}
