import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AzureEventHubsTrigger, Trigger } from '@ganglion/api';
import { freePort } from '@ganglion/testing';
import { context, event, secretsDir } from '../fixtures/trigger.fixtures.js';
import {
  createAzureEventHubsTrigger,
  eventHubsConnectionString,
  eventHubsEvent,
} from './azure-event-hubs.trigger.js';

/**
 * The azureEventHubs trigger with the official client. No Event Hubs server or emulator is
 * available to the tests: what is tested is the event, the connection string Argo builds and
 * the outcome when the server cannot be reached (a closed loopback port). Not verified against
 * a server.
 */
describe('azureEventHubs trigger (not verified against a server)', { timeout: 120_000 }, () => {
  const plugin = createAzureEventHubsTrigger();
  const events = { dep: event({ order: 7 }) };
  after(() => plugin.close?.());

  const template = (fqdn: string): AzureEventHubsTrigger => ({
    fqdn,
    hubName: 'orders',
    sharedAccessKeyName: { name: 'eh', key: 'name' },
    sharedAccessKey: { name: 'eh', key: 'key' },
    payload: [
      { src: { dependencyName: 'dep', dataKey: 'order', useRawData: true }, dest: 'order' },
    ],
  });

  it("builds Argo's connection string and an event carrying the action id", () => {
    assert.equal(
      eventHubsConnectionString('ns.servicebus.windows.net', 'orders', 'send', 's3cr3t'),
      'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=s3cr3t;EntityPath=orders',
    );
    const e = eventHubsEvent(template('x'), events, 'c'.repeat(32));
    assert.deepEqual(JSON.parse((e.body as Buffer).toString()), { order: 7 });
    assert.equal(e.messageId, 'c'.repeat(32));
    assert.deepEqual(e.properties, { 'ganglion-action-id': 'c'.repeat(32) });
  });

  it('an unreachable server is a retryable failure; a missing Secret is reported', async () => {
    const port = await freePort();
    const dir = secretsDir({ eh: { name: 'send', key: 'k' } });
    const r = await plugin.execute(
      template(`127.0.0.1:${port}`),
      { template: { name: 'eh' } } as Trigger,
      events,
      context({ secretsDir: dir }),
    );
    assert.equal(r.ok, false, JSON.stringify(r));
    assert.equal(!r.ok && r.retryable, true);
    assert.match(!r.ok ? r.error : '', /send to Event Hubs 127\.0\.0\.1:\d+\/orders/);
    const missing = await plugin.execute(
      template('127.0.0.1'),
      { template: { name: 'eh' } } as Trigger,
      events,
      context({ secretsDir: secretsDir({}) }),
    );
    assert.equal(missing.ok, false);
    assert.match(!missing.ok ? missing.error : '', /eh/);
  });
});
