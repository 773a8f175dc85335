import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { createLogger } from '@ganglion/telemetry';
import { compactHeap, HeapCompactor, shouldCompact, REGROWTH_MIB } from './heap-compaction.js';
import { parseServiceConfig, ConfigError } from './config.js';

const MIB = 1024 * 1024;

/** About `mib` MiB of small objects in the old generation, reachable only through the result. */
function oldGarbage(mib: number): { items: object[] | undefined } {
  const holder: { items: object[] | undefined } = { items: [] };
  for (let i = 0; i < mib * 16_000; i++) holder.items!.push({ i, s: `item-${i}` });
  return holder;
}

test('compactHeap collects what is unreachable and gives the freed heap back', async () => {
  // Without --expose-gc (the test runner's flags): the function is taken from a fresh context.
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
  let ref: WeakRef<object> | undefined = new WeakRef({ payload: 'x'.repeat(1000) });
  const garbage = oldGarbage(48);
  compactHeap(); // promote the garbage to the old generation, as start-up's survivors are
  await tick();
  const heapBefore = process.memoryUsage().heapTotal;
  garbage.items = undefined;
  const result = compactHeap();
  const heapAfter = process.memoryUsage().heapTotal;
  assert.equal(ref.deref(), undefined, 'an unreachable object survived');
  ref = undefined;
  assert.ok(
    heapBefore - heapAfter > 24 * MIB,
    `heap total ${(heapBefore / MIB).toFixed(1)} → ${(heapAfter / MIB).toFixed(1)} MiB`,
  );
  assert.ok(result.rssAfterMiB < result.rssBeforeMiB, JSON.stringify(result));
  assert.ok(result.ms >= 0);
  // The flag is off again for everything else.
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
});

test('shouldCompact: only a quiet window after the resident size grew since the last compaction', () => {
  const cases: [number, number, number, boolean][] = [
    // utilization, rss MiB, last after MiB, compact?
    [0.01, 100, 100, false], // nothing grew
    [0.01, 100 + REGROWTH_MIB - 1, 100, false], // grew a little
    [0.01, 100 + REGROWTH_MIB, 100, true], // grew by a burst, quiet now
    [0.04, 200, 100, true],
    [0.05, 200, 100, false], // still busy
    [0.9, 300, 100, false],
    [0.0, 90, 100, false], // smaller than after the last one
  ];
  for (const [utilization, rssMiB, lastAfterMiB, expected] of cases)
    assert.equal(
      shouldCompact({ utilization, rssMiB, lastAfterMiB }),
      expected,
      `${utilization} ${rssMiB} ${lastAfterMiB}`,
    );
});

test(
  'HeapCompactor compacts after start-up, then when quiet again after memory grew',
  { timeout: 30_000 },
  async () => {
    // Resolved by the log line itself: the test's timeout is the deadline.
    const waiting = new Map<string, (line: Record<string, unknown>) => void>();
    const logged = (reason: string) =>
      new Promise<Record<string, unknown>>((resolve) => waiting.set(reason, resolve));
    const logger = createLogger('test', {
      write: (l) => {
        const line = JSON.parse(l) as Record<string, unknown>;
        waiting.get(line['reason'] as string)?.(line);
      },
    });
    const compactor = new HeapCompactor({ afterStartSeconds: 0.05, checkMs: 100, logger });
    try {
      const afterStart = logged('after start-up');
      compactor.start();
      const first = await afterStart;
      assert.equal(first['msg'], 'heap compacted');
      assert.equal(typeof first['rssAfterMiB'], 'number');
      // A burst: the heap grows by far more than REGROWTH_MIB, then the work is done.
      const afterBurst = logged('quiet after a burst');
      const burst = oldGarbage(64);
      await tick();
      burst.items = undefined;
      const second = await afterBurst;
      assert.ok(
        (second['rssBeforeMiB'] as number) - (first['rssAfterMiB'] as number) >= REGROWTH_MIB,
        JSON.stringify({ first, second }),
      );
    } finally {
      compactor.stop();
    }
  },
);

test('GANGLION_HEAP_COMPACTION_SECONDS: 30 by default, 0 turns it off, anything else is refused by name', () => {
  const base = { KAFKA_BROKERS: '127.0.0.1:9092' };
  assert.equal(parseServiceConfig('x', base).heapCompactionSeconds, 30);
  assert.equal(
    parseServiceConfig('x', { ...base, GANGLION_HEAP_COMPACTION_SECONDS: '0' })
      .heapCompactionSeconds,
    0,
  );
  assert.throws(
    () => parseServiceConfig('x', { ...base, GANGLION_HEAP_COMPACTION_SECONDS: 'soon' }),
    (e: unknown) =>
      e instanceof ConfigError && e.message.startsWith('GANGLION_HEAP_COMPACTION_SECONDS must be'),
  );
});
