import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AzureServiceBusTrigger, Trigger } from '@ganglion/api';
import { freePort } from '@ganglion/testing';
import { context, event, secretsDir } from '../fixtures/trigger.fixtures.js';
import { createAzureServiceBusTrigger, serviceBusMessage } from './azure-service-bus.trigger.js';

/**
 * The azureServiceBus trigger with the official client. No Service Bus server or emulator is
 * available to the tests: what is tested is the message, validation and the outcome when the
 * server cannot be reached (a closed loopback port). Not verified against a server.
 */
describe('azureServiceBus trigger (not verified against a server)', { timeout: 120_000 }, () => {
  const plugin = createAzureServiceBusTrigger();
  const events = { dep: event({ order: 7, queue: 'orders' }) };
  const trigger = { template: { name: 'sb' } } as Trigger;
  after(() => plugin.close?.());

  it('sends the payload as the body, the action id as messageId (duplicate detection)', () => {
    const t: AzureServiceBusTrigger = {
      connectionString: { name: 'sb', key: 'conn' },
      queueName: 'orders',
      payload: [
        { src: { dependencyName: 'dep', dataKey: 'order', useRawData: true }, dest: 'order' },
      ],
    };
    const m = serviceBusMessage(t, events, 'b'.repeat(32));
    assert.deepEqual(JSON.parse((m.body as Buffer).toString()), { order: 7 });
    assert.equal(m.messageId, 'b'.repeat(32));
    assert.equal(m.contentType, 'application/json');
  });

  it('a template without queueName or topicName fails without retries', async () => {
    const r = await plugin.execute(
      { connectionString: { name: 'sb', key: 'conn' } },
      trigger,
      events,
      context({ secretsDir: secretsDir({ sb: { conn: 'Endpoint=sb://127.0.0.1/' } }) }),
    );
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.retryable, false);
    assert.match(!r.ok ? r.error : '', /queueName or topicName is required/);
  });

  it('an unreachable server is a retryable failure naming the entity', async () => {
    const port = await freePort();
    const conn = `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true`;
    const r = await plugin.execute(
      {
        connectionString: { name: 'sb', key: 'conn' },
        queueName: 'placeholder',
        parameters: [{ src: { dependencyName: 'dep', dataKey: 'queue' }, dest: 'queueName' }],
      },
      trigger,
      events,
      context({ secretsDir: secretsDir({ sb: { conn } }) }),
    );
    assert.equal(r.ok, false, JSON.stringify(r));
    assert.equal(!r.ok && r.retryable, true);
    assert.match(!r.ok ? r.error : '', /send to Service Bus/);
  });
});
