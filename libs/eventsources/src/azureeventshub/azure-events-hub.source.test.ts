import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { latestEventPosition } from '@azure/event-hubs';
import type { AzureEventsHubEventSource } from '@ganglion/api';
import type { BusProducers } from '@ganglion/eventbus';
import { LocalSecretResolver } from '@ganglion/k8s';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { BrokerEventsRunner } from '../kit/broker-events.runner.js';
import { naturalEventId } from '../kit/cloudevent.js';
import type { OwnedHost } from '../kit/owned-source.js';
import {
  BusFixture,
  MemoryStore,
  eventSource,
  secretEnv,
} from '../kit/push-harness.test-support.js';
import {
  azureEventsHubSource,
  hubConnectionString,
  hubEventData,
  hubNaturalId,
  startPositions,
} from './azure-events-hub.source.js';
import { HubCheckpointStore } from './hub-checkpoints.js';

/**
 * The azureEventsHub source. No Event Hubs server (nor its emulator) can be had here, so the
 * type is not verified against one: these tests cover Argo's event data, the ids, the
 * checkpoints on a real Kafka broker (written, read back by a new owner, fenced for an old
 * owner), and the source run by the broker kit against a loopback endpoint that is not Event
 * Hubs (nothing published, reconnects, a prompt stop).
 */
describe('azureEventsHub source', { timeout: 300_000 }, () => {
  const prefix = uniquePrefix('aeh');
  let bus: BusFixture;
  const producers: BusProducers[] = [];

  /** A host of the type as one replica would have it (same state topic and transactional id). */
  const host = (
    store = new MemoryStore(),
    secrets: Record<string, Record<string, string>> = {},
  ) => {
    const p = bus.clients.producers();
    producers.push(p);
    return {
      store,
      producers: p,
      logger: bus.logger,
      stateTopic: `${prefix}-state`,
      transactionalId: `${prefix}-ingress`,
      secrets: new LocalSecretResolver(undefined, secretEnv(secrets)),
    } satisfies OwnedHost;
  };

  before(async () => {
    bus = await new BusFixture(await kafkaBrokers(), `${prefix}-bus`).start();
  });

  after(async () => {
    await Promise.all(producers.map((p) => p.close()));
    await bus?.stop();
  });

  it("maps an event to Argo's data {id, partitionKey, body (base64)}; ids from partition + sequence number", () => {
    assert.deepEqual(
      hubEventData({ body: Buffer.from('{"t":21.5}'), messageId: 'msg-1', partitionKey: 'dev-7' }),
      { id: 'msg-1', partitionKey: 'dev-7', body: Buffer.from('{"t":21.5}').toString('base64') },
    );
    assert.deepEqual(hubEventData({ body: undefined, messageId: undefined, partitionKey: null }), {
      id: '',
      partitionKey: '',
      body: '',
    });
    assert.equal(hubNaturalId('3', 1200), '3/1200');
    assert.equal(
      naturalEventId('default', 'es', 'e', hubNaturalId('3', 1200)),
      naturalEventId('default', 'es', 'e', hubNaturalId('3', 1200)),
    );
    assert.notEqual(hubNaturalId('3', 1200), hubNaturalId('30', 120));
    assert.equal(
      hubConnectionString({ fqdn: 'ns.servicebus.windows.net', hubName: 'h' }, 'listen', 'c2Vj'),
      'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=c2Vj;EntityPath=h',
    );
  });

  it('checkpoints: written after acknowledgement, read back by the next owner, forward only', async () => {
    const key = `${prefix}/forward`;
    const first = await new HubCheckpointStore(host()).open(bus.bus(), key);
    assert.equal(first.position('0'), undefined);
    first.acknowledged('0', 41);
    first.acknowledged('1', 7);
    first.acknowledged('0', 40); // an older position never moves a checkpoint back
    await first.flush();
    first.acknowledged('1', 9);
    await first.close(); // close writes what was acknowledged since the last flush

    const next = await new HubCheckpointStore(host()).open(bus.bus(), key);
    try {
      assert.equal(next.position('0'), 41);
      assert.equal(next.position('1'), 9);
      assert.deepEqual(startPositions(['0', '1', '2'], next), {
        '0': { sequenceNumber: 41, isInclusive: false },
        '1': { sequenceNumber: 9, isInclusive: false },
        '2': latestEventPosition,
      });
    } finally {
      await next.close();
    }
  });

  it('a new owner fences the old one: its later checkpoints are refused', async () => {
    const key = `${prefix}/fenced`;
    const old = await new HubCheckpointStore(host()).open(bus.bus(), key);
    old.acknowledged('0', 5);
    await old.flush();
    const owner = await new HubCheckpointStore(host()).open(bus.bus(), key);
    assert.equal(owner.position('0'), 5);
    old.acknowledged('0', 99);
    await assert.rejects(old.flush());
    owner.acknowledged('0', 6);
    await owner.flush();
    await owner.close();
    await old.close();

    const reader = await new HubCheckpointStore(host()).open(bus.bus(), key);
    try {
      assert.equal(reader.position('0'), 6);
    } finally {
      await reader.close();
    }
  });

  describe('run by the broker kit against an endpoint that is not Event Hubs', () => {
    let server: Server;
    let port = 0;
    let connections = 0;
    const sockets = new Set<Socket>();

    before(async () => {
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
    });

    it('connects to fqdn, reconnects with connectionBackoff, publishes nothing and stops promptly', async () => {
      const store = new MemoryStore();
      store.put(bus.bus());
      const config: AzureEventsHubEventSource & Record<string, unknown> = {
        fqdn: `127.0.0.1:${port}`,
        hubName: 'telemetry',
        sharedAccessKeyName: { name: 'eh', key: 'name' },
        sharedAccessKey: { name: 'eh', key: 'key' },
        connectionBackoff: { duration: '200ms', steps: 100, factor: 1 },
      };
      store.put(eventSource('eh', { azureEventsHub: { telemetry: config } }));
      const h = host(store, { eh: { name: 'listen', key: 'a2V5' } });
      const runner = new BrokerEventsRunner(h, azureEventsHubSource(h));
      await runner.start();
      try {
        await waitFor(() => connections >= 2, {
          timeoutMs: 120_000,
          what: 'two connection attempts to the loopback endpoint',
        });
      } finally {
        await runner.stop();
      }
      assert.equal(bus.from('eh').length, 0);
    });
  });
});
