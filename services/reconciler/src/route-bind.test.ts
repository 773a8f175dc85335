import { test } from 'node:test';
import assert from 'node:assert/strict';
import { holdPort, waitFor } from '@ganglion/testing';
import { cond, routeHarness } from './route-harness.test-support.js';

/**
 * A route whose port another process holds: the real reconciler (Kubernetes mode, real API
 * server) and a real push ingress over a real broker, on real sockets. While the port is held,
 * POSTs reach the other process (its 404) and the EventSource says so: `RoutesServed=False`,
 * reason `PortInUse`, naming the port and the error. Once the port is released, the ingress
 * binds it by itself (no change to the EventSource), the condition turns True, and a POST is
 * served and its event reaches the bus.
 */
test(
  'a port held by another process: RoutesServed=False PortInUse naming the port; released: bound by itself, True, served, on the bus',
  { timeout: 240_000 },
  async () => {
    // The bind retried every 200 ms doubling to 1 s (the default: 1 s doubling to 30 s), so the
    // test waits seconds, not half a minute, after it releases the port.
    const h = await routeHarness({
      name: 'route-bind',
      bindRetry: { initialMs: 200, maxMs: 1000 },
      collectBus: true,
    });
    const { port, ingress, onBus, get } = h;
    const held = await holdPort(port);
    let released = false;
    const post = (n: number) =>
      fetch(`http://127.0.0.1:${port}/hook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ n }),
      });
    try {
      await h.start();
      await h.createEventSource('hooks', {
        example: { port: String(port), endpoint: '/hook', method: 'POST' },
      });

      // Held: the EventSource says the route is not served, naming the port and the error.
      const inUse = await h.waitCond('hooks', 'RoutesServed', { status: 'False' });
      assert.equal(inUse.reason, 'PortInUse');
      assert.equal(
        inUse.message,
        `webhook event example: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE), another process holds port ${port}; the ingress retries the bind with backoff (replica ingress-0)`,
      );
      assert.equal(cond(await get('hooks'), 'Deployed')?.status, 'True');
      assert.match(
        ingress.notServing(port) ?? '',
        new RegExp(`port ${port} not bound \\(PortInUse\\)`),
      );
      assert.deepEqual(
        ingress.bindFailures().map((f) => [f.port, f.reason, f.code]),
        [[port, 'PortInUse', 'EADDRINUSE']],
      );
      // The ingress keeps trying while the port is held; the status stays as it was.
      await waitFor(() => (ingress.bindFailures()[0]?.attempts ?? 0) >= 3, {
        timeoutMs: 30_000,
        what: 'three bind attempts',
      });
      const other = await post(0);
      assert.equal(other.status, 404);
      assert.equal(await other.text(), 'not found');
      assert.equal(cond(await get('hooks'), 'RoutesServed')?.reason, 'PortInUse');

      // Released: bound without any change to the EventSource, True, served, on the bus.
      const generation = (await get('hooks')).metadata.generation;
      await new Promise<void>((resolve) => held.close(() => resolve()));
      released = true;
      const served = await h.waitCond('hooks', 'RoutesServed', { status: 'True' });
      assert.equal(served.reason, 'Served');
      assert.equal(ingress.notServing(port), undefined);
      assert.deepEqual(ingress.bindFailures(), []);
      const res = await post(1);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'success');
      await waitFor(() => onBus.some((d) => (d as { body?: { n?: number } }).body?.n === 1), {
        timeoutMs: 30_000,
        what: 'the event on the bus',
      });
      assert.equal((await get('hooks')).metadata.generation, generation);
    } finally {
      if (!released) held.close();
      await h.close();
    }
  },
);

test(
  'two replicas, one cannot bind: RoutesServed stays False when the other reports the route served; True once the failing one stops',
  { timeout: 240_000 },
  async () => {
    const h = await routeHarness({
      name: 'route-bind-two',
      bindRetry: { initialMs: 200, maxMs: 1000 },
    });
    const { port } = h;
    // Held on 127.0.0.1 only: replica ingress-0 (127.0.0.1) cannot bind, ingress-1 (127.0.0.2) can.
    const held = await holdPort(port);
    try {
      await h.start();
      await h.createEventSource('hooks', {
        example: { port: String(port), endpoint: '/hook', method: 'POST' },
      });
      const inUse = await h.waitCond('hooks', 'RoutesServed', { status: 'False' });
      assert.equal(inUse.reason, 'PortInUse');
      assert.match(inUse.message ?? '', /\(replica ingress-0\)$/);

      // The other replica serves the route; its first report writes a tombstone for it.
      const other = await h.replica('127.0.0.2', 'ingress-1');
      assert.equal(other.ingress.notServing(port), undefined);
      // An EventSource both replicas refuse, created after: once its condition shows, the
      // reconciler has read ingress-1's report.
      await h.createEventSource('probe', {
        guarded: {
          port: String(port),
          endpoint: '/probe',
          method: 'POST',
          authSecret: { name: 'absent', key: 'token' },
        },
      });
      await h.waitCond('probe', 'RoutesServed', { status: 'False', reason: 'SecretMissing' });
      const still = cond(await h.get('hooks'), 'RoutesServed');
      assert.equal(still?.status, 'False');
      assert.equal(still?.reason, 'PortInUse');

      // The failing replica stops: it withdraws its refusal; the other one serves the route.
      await h.stopIngress();
      const served = await h.waitCond('hooks', 'RoutesServed', { status: 'True' });
      assert.equal(served.reason, 'Served');
    } finally {
      held.close();
      await h.close();
    }
  },
);

test(
  "a route on the ingress's own metrics port: RoutesServed=False RouteInvalid naming it, never a bind retried forever",
  { timeout: 240_000 },
  async () => {
    const reserved = 7777;
    const h = await routeHarness({
      name: 'route-reserved',
      reservedPorts: new Map([[reserved, 'metrics (GANGLION_METRICS_PORT)']]),
    });
    try {
      await h.start();
      await h.createEventSource('hooks', {
        example: { port: String(reserved), endpoint: '/hook', method: 'POST' },
      });
      const refused = await h.waitCond('hooks', 'RoutesServed', { status: 'False' });
      assert.equal(refused.reason, 'RouteInvalid');
      assert.equal(
        refused.message,
        `webhook event example: port ${reserved} is this ingress's own metrics (GANGLION_METRICS_PORT) port; choose another port for the route`,
      );
      // Refused before any bind: nothing listens or retries on the port.
      assert.deepEqual(h.ingress.bindFailures(), []);
      assert.equal(h.ingress.notServing(reserved), `no route is served on port ${reserved}`);
    } finally {
      await h.close();
    }
  },
);
