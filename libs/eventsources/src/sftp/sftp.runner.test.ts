import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BusProducers } from '@ganglion/eventbus';
import { LocalSecretResolver } from '@ganglion/k8s';
import { SftpServer, kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import {
  BusFixture,
  MemoryStore,
  eventSource,
  secretEnv,
} from '../kit/push-harness.test-support.js';
import { SftpRunner } from './sftp.runner.js';

/** The sftp source against a real OpenSSH server (private sshd, SFTP subsystem) and a real Kafka broker. */
describe('sftp source', { timeout: 300_000 }, () => {
  let sshd: SftpServer;
  let bus: BusFixture;
  let producers: BusProducers;
  let runner: SftpRunner;
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-sftp-'));

  before(async () => {
    [sshd, bus] = await Promise.all([
      SftpServer.start(),
      kafkaBrokers().then((b) => new BusFixture(b, `${uniquePrefix('sftp')}-bus`).start()),
    ]);
    const store = new MemoryStore();
    store.put(bus.bus());
    const auth = {
      address: { name: 'sftp', key: 'address' },
      username: { name: 'sftp', key: 'username' },
      sshKeySecret: { name: 'sftp', key: 'key' },
      pollIntervalDuration: '200ms',
    };
    store.put(
      eventSource('remote', {
        sftp: {
          created: {
            ...auth,
            eventType: 'CREATE',
            watchPathConfig: { directory: dir, pathRegexp: '\\.csv$' },
            metadata: { team: 'a' },
          },
          removed: {
            ...auth,
            eventType: 'REMOVE',
            watchPathConfig: { directory: dir, path: 'gone.txt' },
          },
        },
      }),
    );
    producers = bus.clients.producers();
    runner = new SftpRunner({
      store,
      producers,
      logger: bus.logger,
      stateTopic: 'unused',
      transactionalId: 'unused',
      secrets: new LocalSecretResolver(
        undefined,
        secretEnv({
          sftp: { address: sshd.address, username: sshd.user, key: sshd.key.privateKey },
        }),
      ),
    });
    writeFileSync(join(dir, 'before.csv'), 'x');
    writeFileSync(join(dir, 'gone.txt'), 'x');
    await runner.start();
  });

  after(async () => {
    await runner?.stop();
    await producers?.close();
    await bus?.stop();
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const of = (s: string) => bus.from('remote').filter((r) => r.event.subject === s);

  it("reports new and rewritten files (CREATE) and removed ones (REMOVE) as Argo's {name, op, metadata}", async () => {
    // Wait for the runner's first listing to be taken (files present at start are no events).
    await waitFor(
      async () => {
        writeFileSync(join(dir, 'probe.csv'), String(Date.now()));
        return of('created').some((r) => (r.data as { name: string }).name === 'probe.csv');
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the watcher running' },
    );
    writeFileSync(join(dir, 'data.csv'), 'a,b\n');
    writeFileSync(join(dir, 'other.txt'), 'ignored');
    await waitFor(
      () => of('created').some((r) => (r.data as { name: string }).name === 'data.csv'),
      {
        timeoutMs: 30_000,
        what: 'CREATE data.csv',
      },
    );
    const created = of('created').find((r) => (r.data as { name: string }).name === 'data.csv')!;
    assert.deepEqual(created.data, { name: 'data.csv', op: 'CREATE', metadata: { team: 'a' } });
    assert.equal(created.event.type, 'sftp');
    // In the EventSource's namespace: a Sensor of another namespace does not match it.
    assert.equal(created.event['namespace'], 'default');
    writeFileSync(join(dir, 'data.csv'), 'a,b\n1,2\n');
    await waitFor(
      () =>
        of('created').filter((r) => (r.data as { name: string }).name === 'data.csv').length === 2,
      { timeoutMs: 30_000, what: 'the rewrite as CREATE' },
    );
    rmSync(join(dir, 'gone.txt'));
    await waitFor(() => of('removed').length === 1, { timeoutMs: 30_000, what: 'REMOVE gone.txt' });
    assert.deepEqual(of('removed')[0]!.data, { name: 'gone.txt', op: 'REMOVE' });
    assert.ok(!of('created').some((r) => (r.data as { name: string }).name === 'before.csv'));
    assert.ok(!bus.from('remote').some((r) => (r.data as { name: string }).name === 'other.txt'));
  });

  it('a connection lost to the server is reopened at the next poll', async () => {
    await sshd.restart();
    writeFileSync(join(dir, 'after-restart.csv'), 'x');
    await waitFor(
      () => of('created').some((r) => (r.data as { name: string }).name === 'after-restart.csv'),
      { timeoutMs: 60_000, what: 'an event after the server restarted' },
    );
  });
});
