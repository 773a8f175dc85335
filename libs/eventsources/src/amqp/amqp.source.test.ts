import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsumeMessage } from 'amqplib';
import { amqpEventData, amqpNaturalId, amqpQueue } from './amqp.source.js';

const event = { namespace: 'shop', eventSource: 'amqp', eventName: 'orders' };
const base = { exchangeType: 'topic', routingKey: 'order.*' };

function delivery(props: Partial<ConsumeMessage['properties']>, body = '{"a":1}'): ConsumeMessage {
  return {
    content: Buffer.from(body),
    fields: {
      deliveryTag: 7,
      redelivered: false,
      exchange: 'shop',
      routingKey: 'order.created',
      consumerTag: 'c',
    },
    properties: {
      contentType: undefined,
      contentEncoding: undefined,
      headers: {},
      deliveryMode: undefined,
      priority: undefined,
      correlationId: undefined,
      replyTo: undefined,
      expiration: undefined,
      messageId: undefined,
      timestamp: undefined,
      type: undefined,
      userId: undefined,
      appId: undefined,
      clusterId: undefined,
      ...props,
    },
  } as ConsumeMessage;
}

describe('amqp source: pure parts', () => {
  it('no queue name: a durable shared queue named after the event', () => {
    assert.deepEqual(amqpQueue(base, event), {
      name: 'ganglion.shop.amqp.orders',
      options: { durable: true, exclusive: false, autoDelete: false },
    });
  });

  it('a named queue keeps its flags as written (Go zero values when omitted) and YAML arguments', () => {
    assert.deepEqual(
      amqpQueue(
        { ...base, queueDeclare: { name: 'q', exclusive: true, arguments: 'x-max-length: 10' } },
        event,
      ),
      {
        name: 'q',
        options: {
          durable: false,
          exclusive: true,
          autoDelete: false,
          arguments: { 'x-max-length': 10 },
        },
      },
    );
    assert.throws(
      () => amqpQueue({ ...base, queueDeclare: { name: 'q', arguments: '[1, 2]' } }, event),
      /queueDeclare.arguments is not a YAML map/,
    );
  });

  it("Argo's data shape: Go's zero time without a timestamp, base64 body without jsonBody", () => {
    const d = amqpEventData(delivery({}), false);
    assert.equal(d['timestamp'], '0001-01-01 00:00:00 +0000 UTC');
    assert.equal(d['body'], Buffer.from('{"a":1}').toString('base64'));
    assert.equal(d['deliveryMode'], 0);
    assert.equal(d['messageId'], '');
    const j = amqpEventData(delivery({ timestamp: 1_700_000_000, deliveryMode: 2 }), true);
    assert.equal(j['timestamp'], '2023-11-14 22:13:20 +0000 UTC');
    assert.deepEqual(j['body'], { a: 1 });
  });

  it('ids: the message id when set, else a hash a redelivery repeats and another payload changes', () => {
    assert.equal(amqpNaturalId(delivery({ messageId: 'm-1' })), 'message-id/m-1');
    const a = amqpNaturalId(delivery({}));
    assert.equal(
      a,
      amqpNaturalId({
        ...delivery({}),
        fields: { ...delivery({}).fields, deliveryTag: 99, redelivered: true },
      }),
    );
    assert.notEqual(a, amqpNaturalId(delivery({}, '{"a":2}')));
    assert.match(a, /^content\/[0-9a-f]{64}$/);
  });
});
