import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { decodeCloudEvent, eventData } from '@ganglion/eventbus';
import {
  freePort,
  holdPort,
  kafkaBrokers,
  ServiceProcess,
  uniquePrefix,
  waitFor,
} from '@ganglion/testing';
import { ingressTopics, type BusCollector } from './harness.js';

/**
 * ingress-webhook as its own process, started on a port another process holds (as in CI, where
 * a health server held a test's webhook port and answered its posts 404): the replica is ready
 * (its other routes stay in every Service) but does not claim the port — `/readyz` names it,
 * `/readyz?port=` answers 503 with the reason — and logs one warning, the repeats at debug.
 * Released, the port is bound by the ingress's own retry (default backoff, no resource change):
 * `/readyz?port=` turns 200, a POST is served and its event reaches the bus.
 */
describe('ingress-webhook: a route whose port another process holds', { timeout: 180_000 }, () => {
  const prefix = uniquePrefix('bind');
  const busTopic = `${prefix}-bus`;
  const resourcesTopic = `${prefix}-resources`;
  const onBus: unknown[] = [];
  let port: number;
  let consumer: BusCollector;
  let held: Server | undefined;
  let ingress: ServiceProcess;

  before(async () => {
    const brokers = await kafkaBrokers();
    port = await freePort();
    held = await holdPort(port);
    consumer = await ingressTopics({
      brokers,
      prefix,
      resourcesTopic,
      busTopic,
      busPartitions: 1,
      eventSource: {
        name: 'held',
        spec: { webhook: { example: { port: String(port), endpoint: '/hook', method: 'POST' } } },
      },
      onEvent: (message) => onBus.push(eventData(decodeCloudEvent(message))),
    });
    ingress = new ServiceProcess('ingress-webhook', {
      healthPort: await freePort(),
      env: {
        KAFKA_BROKERS: brokers,
        GANGLION_RESOURCES_TOPIC: resourcesTopic,
        GANGLION_HOST: '127.0.0.1',
        GANGLION_INSTANCE_ID: `${prefix}-0`,
        LOG_LEVEL: 'debug',
      },
      ...(process.env['E2E_VERBOSE']
        ? { onLine: (l: string) => console.log(`[ingress-webhook] ${l}`) }
        : {}),
    }).start();
    await ingress.ready();
  });

  after(async () => {
    held?.close();
    await ingress?.stop();
    await consumer?.disconnect();
  });

  it('is not claimed while held, and is bound and served once released', async () => {
    const readyz = async (query = '') => {
      const res = await fetch(ingress.healthUrl(`/readyz${query}`));
      return { status: res.status, body: await res.text() };
    };
    const cannot = (level: string) =>
      ingress
        .records()
        .filter((r) => r['level'] === level && String(r['msg']).startsWith('cannot listen'));
    // The routes are applied once the resources are read: the port is reported not bound.
    const held1 = await waitFor(
      async () => {
        const r = await readyz(`?port=${port}`);
        return r.body.includes('PortInUse') && r;
      },
      { timeoutMs: 30_000, what: '/readyz?port= naming PortInUse' },
    );
    assert.equal(held1.status, 503);
    assert.match(
      held1.body,
      new RegExp(
        `^not ready: port ${port} not bound \\(PortInUse\\): cannot listen on 127\\.0\\.0\\.1:${port}: address already in use \\(EADDRINUSE\\)`,
      ),
    );
    const all = await readyz();
    assert.equal(all.status, 200);
    assert.equal(all.body, `ready; ports not bound: ${port} (PortInUse: EADDRINUSE)`);
    assert.equal((await readyz('?port=1')).status, 503);
    // Retried by itself: repeats are debug lines, the warning is said once.
    await waitFor(() => cannot('debug').length >= 1, { timeoutMs: 30_000, what: 'a retry' });
    assert.equal(cannot('warn').length, 1);
    assert.equal(cannot('error').length, 0);
    const other = await fetch(`http://127.0.0.1:${port}/hook`, { method: 'POST', body: '{}' });
    assert.equal(other.status, 404);

    await new Promise<void>((resolve) => held!.close(() => resolve()));
    held = undefined;
    // The default backoff (1 s doubling to 30 s): bound within 30 s of the release.
    await waitFor(async () => (await readyz(`?port=${port}`)).status === 200, {
      timeoutMs: 45_000,
      what: '/readyz?port= 200 after the release',
    });
    assert.equal((await readyz()).body, 'ready');
    const res = await fetch(`http://127.0.0.1:${port}/hook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ n: 1 }),
    });
    assert.equal(res.status, 200);
    await waitFor(() => onBus.some((d) => (d as { body?: { n?: number } }).body?.n === 1), {
      timeoutMs: 30_000,
      what: 'the event on the bus',
    });
    assert.equal(cannot('warn').length, 1);
    assert.ok(
      ingress.records().some((r) => r['msg'] === 'listening after failed attempts'),
      'the bind after failures is logged',
    );
  });
});
