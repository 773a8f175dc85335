import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_SOURCE_TYPES } from '../types.js';
import { notVerifiedMessage, SOURCE_KINDS, unverifiedSourceTypes } from './source-kinds.js';

describe('source types not verified against a server', () => {
  it("every one of Argo's source types runs (has a kind), and nothing else", () => {
    assert.equal(EVENT_SOURCE_TYPES.length, 32);
    assert.deepEqual(Object.keys(SOURCE_KINDS).sort(), [...EVENT_SOURCE_TYPES].sort());
  });

  it('names the configured unverified types only', () => {
    const spec = {
      emitter: { orders: { broker: 'tcp://e:8080', channelKey: 'k', channelName: 'c' } },
      amqp: { a: { url: 'amqp://r', exchangeType: 'fanout', routingKey: 'k' } },
      eventBusName: 'default',
    };
    assert.deepEqual(unverifiedSourceTypes(spec), ['emitter']);
    assert.deepEqual(unverifiedSourceTypes({ emitter: {} }), []);
    assert.deepEqual(unverifiedSourceTypes(undefined), []);
    assert.deepEqual(
      unverifiedSourceTypes({
        azureServiceBus: { a: { connectionString: { name: 's', key: 'k' }, queueName: 'q' } },
        azureEventsHub: { b: { fqdn: 'ns.servicebus.windows.net', hubName: 'h' } },
      }),
      ['azureServiceBus', 'azureEventsHub'],
    );
    assert.deepEqual(
      unverifiedSourceTypes({ mns: { q: { queue: 'q', endpoint: 'https://1.mns.x' } } }),
      ['mns'],
    );
    assert.deepEqual(unverifiedSourceTypes({ minio: { a: { bucket: { name: 'b' } } } }), ['minio']);
  });

  it('says what the type was tested against instead', () => {
    assert.match(
      notVerifiedMessage(['emitter']),
      /^source type emitter is not verified against a server: .*mosquitto/,
    );
    assert.match(
      notVerifiedMessage(['azureServiceBus', 'azureEventsHub']),
      /^source type azureServiceBus is not verified against a server: built on the official client \(@azure\/service-bus\).*; source type azureEventsHub is not verified against a server: built on the official client \(@azure\/event-hubs\)/,
    );
    assert.match(
      notVerifiedMessage(['mns']),
      /^source type mns is not verified against a server: .*official client .*no MNS server/,
    );
    assert.match(notVerifiedMessage(['minio']), /ListenBucketNotification stream/);
  });

  it('names unverified options set on an event of their type (kafka schemaRegistry)', () => {
    const spec = {
      kafka: {
        plain: { url: 'k:9092', topic: 't', partition: '0' },
        avro: { url: 'k:9092', topic: 'a', partition: '0', schemaRegistry: { url: 'http://r' } },
      },
    };
    assert.deepEqual(unverifiedSourceTypes(spec), ['kafka.schemaRegistry']);
    assert.deepEqual(unverifiedSourceTypes({ kafka: { plain: spec.kafka.plain } }), []);
    assert.match(
      notVerifiedMessage(['kafka.schemaRegistry']),
      /^option kafka.schemaRegistry is not verified against a server: .*Maven Central/,
    );
  });
});
