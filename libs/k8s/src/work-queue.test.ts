import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@ganglion/testing';
import { WorkQueue } from './work-queue.js';

test('work queue: a key added many times while waiting is processed once', async () => {
  const seen: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const q = new WorkQueue(
    async (k) => {
      seen.push(k);
      if (k === 'block') await gate;
    },
    { concurrency: 1 },
  );
  q.add('block');
  for (let i = 0; i < 5; i++) q.add('a');
  q.add('b');
  release();
  await q.idle();
  assert.deepEqual(seen, ['block', 'a', 'b']);
});

test('work queue: a key is never processed twice at once; an add during processing runs it once more', async () => {
  let running = 0;
  let max = 0;
  let runs = 0;
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  const q = new WorkQueue(
    async () => {
      runs++;
      running++;
      max = Math.max(max, running);
      await gate;
      running--;
    },
    { concurrency: 4 },
  );
  q.add('k');
  await waitFor(() => runs === 1);
  q.add('k');
  q.add('k');
  const first = release;
  gate = new Promise<void>((r) => (release = r));
  first();
  await waitFor(() => runs === 2);
  release();
  await q.idle();
  assert.equal(runs, 2);
  assert.equal(max, 1);
});

test('work queue: failures retry with growing backoff, success resets it', async () => {
  const times: number[] = [];
  const delays: number[] = [];
  const q = new WorkQueue(
    async () => {
      times.push(Date.now());
      if (times.length < 4) throw new Error('not yet');
    },
    { baseDelayMs: 20, onError: (_k, _e, d) => delays.push(d) },
  );
  q.add('k');
  await waitFor(() => times.length === 4, { timeoutMs: 5000 });
  assert.deepEqual(delays, [20, 40, 80]);
  await q.stop();
});
