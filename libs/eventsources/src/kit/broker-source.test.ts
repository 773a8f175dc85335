import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { argoBody, incomingFromHeaders } from './broker-source.js';

describe('broker kit: message helpers', () => {
  it('reads CloudEvent attributes in each binding’s binary mode (Kafka ce_, AMQP/NATS ce-, cloudEvents:)', () => {
    for (const prefix of ['ce_', 'ce-', 'Ce-', 'cloudEvents:']) {
      const got = incomingFromHeaders({
        [`${prefix}id`]: 'order-1',
        [`${prefix}specversion`]: '1.0',
        [`${prefix}source`]: 'shop',
        [`${prefix}type`]: 'order.created',
      });
      assert.deepEqual(got, { id: 'order-1', source: 'shop', type: 'order.created' }, prefix);
    }
  });

  it('needs both id and specversion to take an incoming id', () => {
    assert.equal(incomingFromHeaders({ ce_id: 'x' }), undefined);
    assert.equal(incomingFromHeaders({}), undefined);
    assert.equal(incomingFromHeaders(undefined), undefined);
  });

  it('keeps a valid W3C traceparent (and its tracestate), drops a malformed one', () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    assert.deepEqual(incomingFromHeaders({ traceparent: Buffer.from(tp), tracestate: 'a=b' }), {
      traceparent: tp,
      tracestate: 'a=b',
    });
    assert.equal(incomingFromHeaders({ traceparent: 'not-a-trace' }), undefined);
    // The CloudEvent's own distributed-tracing extension wins over the header.
    const other = '00-11111111111111111111111111111111-2222222222222222-01';
    assert.equal(
      incomingFromHeaders({
        ce_id: 'i',
        ce_specversion: '1.0',
        ce_traceparent: other,
        traceparent: tp,
      })?.traceparent,
      other,
    );
  });

  it("encodes a body as Argo does: JSON with jsonBody, else Go's []byte (base64)", () => {
    assert.deepEqual(argoBody(Buffer.from('{"a":1}'), true), { a: 1 });
    assert.equal(argoBody('not json', true), 'not json');
    assert.equal(argoBody(Buffer.from('hi'), false), 'aGk=');
    assert.equal(argoBody(null, false), '');
  });
});
