import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pulsarTopic } from './pulsar.source.js';

describe('pulsar source: topic names', () => {
  it('are normalised as the Go client does', () => {
    assert.equal(pulsarTopic('orders'), 'persistent://public/default/orders');
    assert.equal(pulsarTopic('shop/eu/orders'), 'persistent://shop/eu/orders');
    assert.equal(pulsarTopic('non-persistent://a/b/c'), 'non-persistent://a/b/c');
  });
});
