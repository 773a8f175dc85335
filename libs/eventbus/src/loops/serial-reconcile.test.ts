import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@ganglion/telemetry';
import { waitFor } from '@ganglion/testing';
import { SerialReconcile } from './serial-reconcile.js';

const quiet = (lines: Record<string, unknown>[] = []) =>
  createLogger('serial-reconcile-test', { write: (l) => lines.push(JSON.parse(l)) });

test('runs one at a time, in the order asked', async () => {
  const order: number[] = [];
  let running = 0;
  let most = 0;
  let n = 0;
  const reconcile = new SerialReconcile({
    logger: quiet(),
    what: 'test',
    run: async () => {
      const mine = ++n;
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setImmediate(r));
      order.push(mine);
      running--;
    },
  });
  await Promise.all([reconcile.request(), reconcile.request(), reconcile.request()]);
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(most, 1);
  await reconcile.stop();
});

test('a failed run is run again, backing off, until one succeeds, without being asked', async () => {
  const lines: Record<string, unknown>[] = [];
  let runs = 0;
  const reconcile = new SerialReconcile({
    logger: quiet(lines),
    what: 'consumer restart',
    initialDelayMs: 5,
    maxDelayMs: 20,
    run: async () => {
      if (++runs < 4) throw new Error(`topic not there yet (${runs})`);
    },
  });
  // The caller sees the first failure.
  await assert.rejects(reconcile.request(), /topic not there yet \(1\)/);
  await waitFor(() => runs === 4, { what: 'the fourth run' });
  const failures = lines.filter((l) => l['msg'] === 'consumer restart failed; trying again');
  assert.deepEqual(
    failures.map((l) => l['retryInMs']),
    [5, 10, 20],
  );
  await reconcile.stop();
  assert.equal(runs, 4);
});

test('stop() ends the retries and later requests run nothing', async () => {
  let runs = 0;
  const reconcile = new SerialReconcile({
    logger: quiet(),
    what: 'test',
    initialDelayMs: 5,
    run: async () => {
      runs++;
      throw new Error('always');
    },
  });
  await assert.rejects(reconcile.request(), /always/);
  await waitFor(() => runs >= 2, { what: 'a retry' });
  await reconcile.stop();
  const after = runs;
  await reconcile.request();
  assert.equal(runs, after);
});
