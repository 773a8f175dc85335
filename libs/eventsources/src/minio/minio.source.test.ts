import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'minio';
import { MinioServer, kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { BusFixture, MemoryStore, eventSource } from '../kit/push-harness.test-support.js';
import { startReplica, type QueueReplica } from '../kit/queue-harness.test-support.js';
import { minioBrokerSource } from './minio.source.js';

interface Rec {
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string; size?: number } };
}

/** The minio source against a real MinIO server (built from the Go module proxy) and a real Kafka broker. */
describe('minio source', { timeout: 300_000 }, () => {
  let minio: MinioServer;
  let client: Client;
  let bus: BusFixture;
  let replica: QueueReplica;
  const bucket = 'ganglion-test';

  before(async () => {
    [minio, bus] = await Promise.all([
      MinioServer.start(),
      kafkaBrokers().then((b) => new BusFixture(b, `${uniquePrefix('minio')}-bus`).start()),
    ]);
    client = new Client({
      endPoint: '127.0.0.1',
      port: minio.port,
      useSSL: false,
      accessKey: MinioServer.accessKey,
      secretKey: MinioServer.secretKey,
    });
    await client.makeBucket(bucket);
    const store = new MemoryStore();
    store.put(bus.bus());
    store.put(
      eventSource('objects', {
        minio: {
          csv: {
            endpoint: minio.endpoint,
            insecure: true,
            bucket: { name: bucket },
            events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
            filter: { prefix: 'in/', suffix: '.csv' },
            accessKey: { name: 'minio', key: 'access' },
            secretKey: { name: 'minio', key: 'secret' },
            metadata: { team: 'a' },
          },
        },
      }),
    );
    replica = await startReplica(
      minioBrokerSource,
      store,
      bus.clients,
      bus.logger,
      'one',
      { minio: { access: MinioServer.accessKey, secret: MinioServer.secretKey } },
      'minio',
    );
  });

  after(async () => {
    await replica?.stop();
    await bus?.stop();
    await minio?.stop();
  });

  const records = (): Rec[] =>
    bus.from('objects').map((r) => (r.data as { notification: Rec[] }).notification[0]!);

  it("publishes bucket notifications matching the prefix and suffix as Argo's {notification: [record], metadata}", async () => {
    // The listener connects asynchronously: put probe objects until one is reported.
    let n = 0;
    await waitFor(
      async () => {
        await client.putObject(bucket, `in/probe-${n++}.csv`, 'x');
        return records().length > 0;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the listener running' },
    );
    await client.putObject(bucket, 'in/data.csv', 'a,b\n');
    await client.putObject(bucket, 'in/data.txt', 'no');
    await client.putObject(bucket, 'other/data.csv', 'no');
    await client.removeObject(bucket, 'in/data.csv');
    await waitFor(
      () =>
        records().some(
          (r) => r.s3.object.key === 'in/data.csv' && r.eventName.startsWith('s3:ObjectRemoved'),
        ),
      { timeoutMs: 30_000, what: 'the removal' },
    );
    const created = bus
      .from('objects')
      .find(
        (r) => (r.data as { notification: Rec[] }).notification[0]!.s3.object.key === 'in/data.csv',
      )!;
    assert.equal(created.event.type, 'minio');
    const data = created.data as { notification: Rec[]; metadata: unknown };
    assert.equal(data.notification.length, 1);
    assert.equal(data.notification[0]!.eventName, 's3:ObjectCreated:Put');
    assert.equal(data.notification[0]!.s3.bucket.name, bucket);
    assert.deepEqual(data.metadata, { team: 'a' });
    assert.ok(
      !records().some(
        (r) => !r.s3.object.key.startsWith('in/') || !r.s3.object.key.endsWith('.csv'),
      ),
    );
    assert.equal(
      new Set(bus.from('objects').map((r) => r.event.id)).size,
      bus.from('objects').length,
    );
  });
});
