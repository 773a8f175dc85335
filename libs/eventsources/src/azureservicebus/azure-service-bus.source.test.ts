import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { naturalEventId } from '../kit/cloudevent.js';
import { BusFixture, MemoryStore, eventSource } from '../kit/push-harness.test-support.js';
import { startReplica } from '../kit/queue-harness.test-support.js';
import {
  azureServiceBusSource,
  serviceBusEntity,
  serviceBusEventData,
  serviceBusNaturalId,
  type ServiceBusMessageFields,
} from './azure-service-bus.source.js';

/**
 * The azureServiceBus source. No Service Bus server (nor its emulator) can be had here, so the
 * type is not verified against one: these tests cover Argo's event data for received messages
 * (shaped as the official client hands them over), the deterministic ids, and the source run by
 * the broker kit against a loopback TCP endpoint that is not Service Bus (nothing published,
 * reconnects, a prompt stop).
 */
describe('azureServiceBus source', { timeout: 300_000 }, () => {
  const enqueued = new Date('2026-03-04T05:06:07.891Z');
  const message = (extra: Partial<ServiceBusMessageFields> = {}): ServiceBusMessageFields => ({
    body: Buffer.from('{"order":42}'),
    messageId: 'm-1',
    contentType: 'application/json',
    correlationId: Buffer.from('corr'),
    replyTo: 'replies',
    subject: 'orders',
    applicationProperties: {
      tenant: 'a',
      count: 3,
      // AMQP binary values arrive as Buffers, whatever the client's type says.
      raw: Buffer.from([1, 2, 3]) as unknown as string,
      at: new Date('2026-01-02T03:04:05Z'),
    },
    enqueuedTimeUtc: enqueued,
    sequenceNumber: 1234567890123n,
    _rawAmqpMessage: { bodyType: 'data' },
    ...extra,
  });

  it("maps a message to Argo's data: every field, the body in base64 (Go's []byte)", () => {
    assert.deepEqual(serviceBusEventData(message()), {
      applicationProperties: { tenant: 'a', count: 3, raw: 'AQID', at: '2026-01-02T03:04:05Z' },
      body: Buffer.from('{"order":42}').toString('base64'),
      contentType: 'application/json',
      correlationID: 'corr',
      enqueuedTime: '2026-03-04T05:06:07.891Z',
      messageID: 'm-1',
      replyTo: 'replies',
      sequenceNumber: 1234567890123,
      subject: 'orders',
    });
  });

  it('jsonBody embeds the JSON; a body that is not JSON cannot be marshalled (undefined)', () => {
    assert.deepEqual(serviceBusEventData(message(), true)?.['body'], { order: 42 });
    assert.equal(serviceBusEventData(message({ body: Buffer.from('not json') }), true), undefined);
    assert.equal(serviceBusEventData(message({ body: Buffer.alloc(0) }), true), undefined);
    assert.equal(
      serviceBusEventData(message({ body: Buffer.from('not json') }))?.['body'],
      Buffer.from('not json').toString('base64'),
    );
  });

  it("absent fields are null as Go's nil pointers; a non-data body is null; ids are strings", () => {
    const data = serviceBusEventData({
      body: { a: 1 },
      messageId: 17,
      _rawAmqpMessage: { bodyType: 'value' },
    });
    assert.deepEqual(data, {
      applicationProperties: null,
      body: null,
      contentType: null,
      correlationID: null,
      enqueuedTime: null,
      messageID: '17',
      replyTo: null,
      sequenceNumber: null,
      subject: null,
    });
  });

  it('the natural id is the entity and sequence number: a redelivery keeps its CloudEvent id', () => {
    const queue = serviceBusEntity({ queueName: 'orders' });
    const sub = serviceBusEntity({ topicName: 't', subscriptionName: 's' });
    assert.equal(queue, 'orders');
    assert.equal(sub, 't/Subscriptions/s');
    const first = serviceBusNaturalId(queue, message());
    // Redelivered: same sequence number, new lock, maybe a new delivery count.
    const again = serviceBusNaturalId(queue, message({ subject: 'changed' }));
    assert.equal(first, 'orders/1234567890123');
    assert.equal(
      naturalEventId('default', 'es', 'e', first),
      naturalEventId('default', 'es', 'e', again),
    );
    // The same messageId on another message (the sender's id need not be unique): another id.
    const other = serviceBusNaturalId(queue, message({ sequenceNumber: 7n }));
    assert.notEqual(other, first);
    assert.notEqual(serviceBusNaturalId(sub, message()), first);
  });

  describe('run by the broker kit against an endpoint that is not Service Bus', () => {
    let bus: BusFixture;
    let server: Server;
    let port = 0;
    let connections = 0;
    const sockets = new Set<Socket>();

    before(async () => {
      bus = await new BusFixture(await kafkaBrokers(), `${uniquePrefix('asb')}-bus`).start();
      server = createServer((s) => {
        connections++;
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });

    after(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server?.close(() => resolve()));
      await bus?.stop();
    });

    it('connects to the connection string endpoint, reconnects, publishes nothing and stops promptly', async () => {
      const store = new MemoryStore();
      store.put(bus.bus());
      store.put(
        eventSource('sb', {
          azureServiceBus: {
            orders: {
              connectionString: { name: 'sb', key: 'conn' },
              queueName: 'orders',
              connectionBackoff: { duration: '200ms', steps: 100, factor: 1 },
            },
          },
        }),
      );
      const replica = await startReplica(
        azureServiceBusSource,
        store,
        bus.clients,
        bus.logger,
        'r1',
        {
          sb: {
            conn: `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=k;SharedAccessKey=a2V5;UseDevelopmentEmulator=true`,
          },
        },
      );
      try {
        await waitFor(() => connections >= 2, {
          timeoutMs: 120_000,
          what: 'two connection attempts to the loopback endpoint',
        });
      } finally {
        await replica.stop();
      }
      assert.equal(bus.from('sb').length, 0);
    });
  });
});
