import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BusProducers } from '@ganglion/eventbus';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { BusFixture, eventSource, MemoryStore } from '../kit/push-harness.test-support.js';
import { FileRunner } from './file.runner.js';

/** The file source on real directories (inotify and polling) publishing to a real broker. */
describe('file source', { timeout: 120_000 }, () => {
  let bus: BusFixture;
  let producers: BusProducers;
  let runner: FileRunner;
  const watched = mkdtempSync(join(tmpdir(), 'ganglion-file-'));
  const polled = mkdtempSync(join(tmpdir(), 'ganglion-poll-'));

  before(async () => {
    bus = await new BusFixture(await kafkaBrokers(), `${uniquePrefix('file')}-bus`).start();
    const store = new MemoryStore();
    store.put(bus.bus());
    const ops = ['CREATE', 'WRITE', 'REMOVE', 'RENAME', 'CHMOD'];
    const spec: Record<string, unknown> = {};
    for (const op of ops)
      spec[op.toLowerCase()] = {
        eventType: op,
        watchPathConfig: { directory: watched, pathRegexp: '\\.csv$' },
        metadata: { op },
      };
    spec['exact'] = {
      eventType: 'CREATE',
      watchPathConfig: { directory: watched, path: 'exact.txt' },
    };
    spec['polled'] = {
      eventType: 'CREATE',
      watchPathConfig: { directory: polled, path: 'in.json' },
      polling: true,
      filter: { expression: 'name != ""' },
    };
    store.put(eventSource('files', { file: spec }));
    producers = bus.clients.producers();
    runner = new FileRunner(
      { store, producers, logger: bus.logger, stateTopic: 'unused', transactionalId: 'unused' },
      200,
    );
    await runner.start();
  });

  after(async () => {
    await runner.stop();
    await producers.close();
    await bus.stop();
    rmSync(watched, { recursive: true, force: true });
    rmSync(polled, { recursive: true, force: true });
  });

  const seen = (subject: string): { name: string; op: string }[] =>
    bus
      .from('files')
      .filter((r) => r.event.subject === subject)
      .map((r) => r.data as { name: string; op: string });

  it('reports create, write, chmod, rename and remove of matching files as {name, op, metadata}', async () => {
    const f = join(watched, 'data.csv');
    writeFileSync(f, 'a,b\n');
    await waitFor(() => seen('create').length === 1, { what: 'CREATE' });
    appendFileSync(f, '1,2\n');
    await waitFor(() => seen('write').length >= 1, { what: 'WRITE' });
    chmodSync(f, 0o600);
    await waitFor(() => seen('chmod').length === 1, { what: 'CHMOD' });
    renameSync(f, join(watched, 'moved.csv'));
    await waitFor(() => seen('rename').length === 1, { what: 'RENAME' });
    rmSync(join(watched, 'moved.csv'));
    await waitFor(() => seen('remove').length === 1, { what: 'REMOVE' });
    assert.deepEqual(seen('create')[0], {
      name: f,
      op: 'CREATE',
      metadata: { op: 'CREATE' },
    } as never);
    assert.deepEqual(seen('rename')[0], {
      name: f,
      op: 'RENAME',
      metadata: { op: 'RENAME' },
    } as never);
    assert.equal(seen('remove')[0]!.name, join(watched, 'moved.csv'));
    const created = bus.from('files').find((r) => r.event.subject === 'create')!;
    assert.equal(created.event.type, 'file');
    assert.equal(created.event.source, 'files');
  });

  it('matches path exactly and ignores other names; polling mode sees creations too', async () => {
    writeFileSync(join(watched, 'other.txt'), 'x');
    writeFileSync(join(watched, 'exact.txt'), 'x');
    writeFileSync(join(polled, 'in.json'), '{}');
    await waitFor(() => seen('exact').length === 1 && seen('polled').length === 1, {
      what: 'exact and polled creations',
    });
    assert.equal(seen('exact')[0]!.name, join(watched, 'exact.txt'));
    assert.equal(seen('polled')[0]!.name, join(polled, 'in.json'));
    assert.ok(
      !bus.from('files').some((r) => (r.data as { name: string }).name.endsWith('other.txt')),
    );
  });
});
