import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { unverifiedTriggerMessage, unverifiedTriggerTypes } from './trigger-verification.js';

describe('unverified trigger types', () => {
  it('names each unverified type a Sensor uses once, and nothing for the others', () => {
    const spec = {
      triggers: [
        { template: { name: 'a', azureServiceBus: { queueName: 'q' } } },
        { template: { name: 'b', http: { url: 'http://x' } } },
        { template: { name: 'c', azureServiceBus: { topicName: 't' } } },
        { template: { name: 'd', azureEventHubs: { fqdn: 'f', hubName: 'h' } } },
      ],
    };
    assert.deepEqual(unverifiedTriggerTypes(spec).sort(), ['azureEventHubs', 'azureServiceBus']);
    assert.deepEqual(unverifiedTriggerTypes({ triggers: [{ template: { log: {} } }] }), []);
    assert.deepEqual(unverifiedTriggerTypes(null), []);
    assert.equal(
      unverifiedTriggerMessage(['azureServiceBus']),
      'trigger type azureServiceBus is executed with the official client but not verified against a server',
    );
  });
});
