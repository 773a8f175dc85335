import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { createLogger } from '@ganglion/telemetry';
import { waitFor } from '@ganglion/testing';
import { cond, routeHarness } from './route-harness.test-support.js';

/**
 * An empty or missing webhook secret never leaves a route open, and the EventSource says so:
 * the real reconciler (Kubernetes mode, real API server) and a real push ingress (Secrets read
 * from that API server) over a real broker. The ingress reports the route it does not serve on
 * the route status topic; the reconciler turns it into `RoutesServed=False` naming the Secret,
 * and back to True once the Secret is fixed (re-read without a restart). A route conflict is
 * still a `RouteConflict`, with no RoutesServed claim about a route never published.
 */
const logger = createLogger('route-status-test', { level: 'warn' });

test(
  'a missing or empty webhook secret: route not served, RoutesServed=False naming the Secret; fixed Secret: served, condition True',
  { timeout: 240_000 },
  async () => {
    // The ingress: the webhook type, Secrets from the API server, routes re-evaluated every 500 ms.
    const h = await routeHarness({
      name: 'route-status',
      logger,
      secrets: 'kubernetes',
      secretRefreshMs: 500,
    });
    const { ns, port, get } = h;
    const core = h.kube.adminConfig().makeApiClient(CoreV1Api);
    const post = (path: string, token?: string) =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: '{"n":1}',
      });
    try {
      await h.start();
      const route = (endpoint: string, key?: string) => ({
        port: String(port),
        endpoint,
        method: 'POST',
        ...(key ? { authSecret: { name: 'hook-auth', key } } : {}),
      });
      await h.createEventSource('hooks', {
        guarded: route('/guarded', 'token'),
        open: route('/open'),
      });

      // No Secret: the open route is served, the guarded one is not, and the EventSource says why.
      const missing = await h.waitCond('hooks', 'RoutesServed', { status: 'False' });
      assert.equal(missing.reason, 'SecretMissing');
      assert.equal(
        missing.message,
        `webhook event guarded: secret ${ns}/hook-auth key "token" not found (no such Secret)`,
      );
      assert.equal(cond(await get('hooks'), 'Deployed')?.status, 'True');
      await waitFor(async () => (await post('/open')).status === 200, { what: 'the open route' });
      assert.equal((await post('/guarded')).status, 404);
      assert.equal((await post('/guarded', 'tok')).status, 404);

      // An empty value is no better.
      await core.createNamespacedSecret({
        namespace: ns,
        body: { metadata: { name: 'hook-auth' }, stringData: { token: '' } },
      });
      const empty = await h.waitCond('hooks', 'RoutesServed', { reason: 'SecretEmpty' });
      assert.equal(empty.status, 'False');
      assert.equal(
        empty.message,
        'webhook event guarded: authSecret (Secret hook-auth, key token) is empty; the route is not served',
      );
      assert.equal((await post('/guarded')).status, 404);

      // The Secret fixed: served (without a restart), and the condition turns True.
      await core.replaceNamespacedSecret({
        namespace: ns,
        name: 'hook-auth',
        body: { metadata: { name: 'hook-auth' }, stringData: { token: 'tok' } },
      });
      const served = await h.waitCond('hooks', 'RoutesServed', { status: 'True' });
      assert.equal(served.reason, 'Served');
      assert.equal((await post('/guarded', 'tok')).status, 200);
      assert.equal((await post('/guarded')).status, 401);

      // A route conflict is still RouteConflict; the unpublished EventSource claims nothing about routes.
      await h.createEventSource('intruder', { steal: route('/open') });
      const intruder = await waitFor(
        async () => {
          const o = await get('intruder');
          return cond(o, 'Deployed')?.reason === 'RouteConflict' && o;
        },
        { timeoutMs: 60_000, what: 'RouteConflict' },
      );
      assert.equal(cond(intruder, 'Deployed')?.status, 'False');
      assert.equal(cond(intruder, 'RoutesServed'), undefined);
      assert.equal(cond(await get('hooks'), 'RoutesServed')?.status, 'True');
    } finally {
      await h.close();
    }
  },
);
