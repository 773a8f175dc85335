import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { notVerifiedMessage, unverifiedSourceTypes } from './source-kinds.js';

describe('source types not verified against a server', () => {
  it('names the configured unverified types only', () => {
    const spec = {
      emitter: { orders: { broker: 'tcp://e:8080', channelKey: 'k', channelName: 'c' } },
      amqp: { a: { url: 'amqp://r', exchangeType: 'fanout', routingKey: 'k' } },
      eventBusName: 'default',
    };
    assert.deepEqual(unverifiedSourceTypes(spec), ['emitter']);
    assert.deepEqual(unverifiedSourceTypes({ emitter: {} }), []);
    assert.deepEqual(unverifiedSourceTypes(undefined), []);
  });

  it('says what the type was tested against instead', () => {
    assert.match(
      notVerifiedMessage(['emitter']),
      /^source type emitter is not verified against a server: .*mosquitto/,
    );
    assert.deepEqual(unverifiedSourceTypes({ minio: { a: { bucket: { name: 'b' } } } }), ['minio']);
    assert.match(notVerifiedMessage(['minio']), /ListenBucketNotification stream/);
  });
});
