import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { createKafka } from '../client/client.js';
import { ensureTopics } from '../client/topics.js';
import {
  RouteStatusReporter,
  routeStatusTopic,
  routeStatusTopicConfig,
  RouteStatusView,
} from './route-status.js';

const logger = createLogger('test', { level: 'error' });

/**
 * A port one replica cannot bind is that replica's (real broker): another replica that serves
 * the route does not clear it, the replica withdraws it when it stops, and the refusal of a
 * replica that died (not written again) is dropped after the view's bound.
 */
describe('route status of a port one replica cannot bind', { timeout: 120_000 }, () => {
  it('survives another replica serving the route; withdrawn on close; a dead replica’s expires', async () => {
    const prefix = uniquePrefix('route-status');
    const resources = `${prefix}-resources`;
    const topic = routeStatusTopic(resources);
    const kafka = createKafka({ brokers: [await kafkaBrokers()], clientId: prefix, logger });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [routeStatusTopicConfig(resources, 1)]);
    await admin.disconnect();
    const view = new RouteStatusView(kafka, topic, logger, { unboundTtlMs: 1500 });
    const changes: string[] = [];
    view.onChange((ns, name) => changes.push(`${ns}/${name}`));
    const a = new RouteStatusReporter(kafka, topic, logger, { replica: 'a', heartbeatMs: 200 });
    const b = new RouteStatusReporter(kafka, topic, logger, { replica: 'b', heartbeatMs: 200 });
    const producer = kafka.producer();
    const route = { namespace: 'ns', eventSource: 'hooks', type: 'webhook', event: 'example' };
    const probe = { ...route, eventSource: 'probe' };
    const refused = () =>
      view.refused('ns', 'hooks').map((r) => [r.event, r.reason, r.replica, r.message]);
    try {
      await view.start();
      await producer.connect();
      await a.report([
        { ...route, unbound: { reason: 'PortInUse', message: 'webhook event example: in use' } },
      ]);
      await waitFor(() => refused().length === 1, { what: "replica a's refusal" });
      assert.deepEqual(refused(), [
        ['example', 'PortInUse', 'a', 'webhook event example: in use (replica a)'],
      ]);

      // Replica b serves the route (its first report writes every key). Its refusal of another
      // EventSource, written after, shows that the view has read b's report.
      await b.report([route, { ...probe, refusal: { reason: 'RouteInvalid', message: 'probe' } }]);
      await waitFor(() => view.refused('ns', 'probe').length === 1, { what: "b's report read" });
      assert.deepEqual(refused(), [
        ['example', 'PortInUse', 'a', 'webhook event example: in use (replica a)'],
      ]);

      // A replica that died holding a refusal: dropped after the bound, while replica a's,
      // received earlier but written again every 200 ms, stays.
      const dead = { ...route, reason: 'PortInUse', message: 'dead', replica: 'c' };
      await producer.send({
        topic,
        messages: [{ key: 'ns/hooks/@c/webhook/example', value: JSON.stringify(dead) }],
      });
      await waitFor(() => refused().some((r) => r[2] === 'c'), { what: "c's refusal" });
      const before = changes.length;
      await waitFor(() => !refused().some((r) => r[2] === 'c'), {
        timeoutMs: 10_000,
        what: "c's refusal dropped",
      });
      assert.ok(changes.length > before, 'the expiry is a change');
      assert.deepEqual(
        refused().map((r) => r[2]),
        ['a'],
      );

      // Replica a stops: it withdraws its refusal.
      await a.close();
      await waitFor(() => refused().length === 0, { what: "a's refusal withdrawn" });
    } finally {
      await a.close().catch(() => undefined);
      await b.close();
      await producer.disconnect();
      await view.stop();
    }
  });
});
