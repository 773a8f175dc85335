import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_INGRESS_LIMITS,
  DEFAULT_MASKED_HEADERS,
  PUSH_PRODUCER_OPTIONS,
} from '@ganglion/eventsources';
import { ConfigError } from './config.js';
import { ingressLimitsFrom, maskedHeadersFrom, pushProducerOptionsFrom } from './ingress.module.js';

test('push ingress limits: the defaults when unset, GANGLION_INGRESS_* overrides each', () => {
  assert.deepEqual(ingressLimitsFrom({}), DEFAULT_INGRESS_LIMITS);
  assert.deepEqual(
    ingressLimitsFrom({
      GANGLION_INGRESS_HEADERS_TIMEOUT_MS: '2000',
      GANGLION_INGRESS_REQUEST_TIMEOUT_MS: '5000',
      GANGLION_INGRESS_KEEPALIVE_TIMEOUT_MS: '1000',
      GANGLION_INGRESS_MAX_CONNECTIONS: '100',
      GANGLION_INGRESS_REQUEST_DEADLINE_MS: '3000',
      GANGLION_INGRESS_MAX_JSON_DEPTH: '64',
    }),
    {
      headersTimeoutMs: 2000,
      requestTimeoutMs: 5000,
      keepAliveTimeoutMs: 1000,
      maxConnections: 100,
      requestDeadlineMs: 3000,
      maxJsonDepth: 64,
    },
  );
  const producer = pushProducerOptionsFrom({
    GANGLION_INGRESS_MAX_QUEUED_BYTES: '2097152',
    GANGLION_INGRESS_MAX_RECORD_BYTES: '500000',
  });
  assert.equal(producer.maxQueuedBytes, 2_097_152);
  assert.equal(producer.maxRecordBytes, 500_000);
  assert.deepEqual(pushProducerOptionsFrom({}), PUSH_PRODUCER_OPTIONS);
});

test('push ingress limits: a bad value is a ConfigError naming the variable', () => {
  for (const [name, value] of [
    ['GANGLION_INGRESS_MAX_CONNECTIONS', '0'],
    ['GANGLION_INGRESS_HEADERS_TIMEOUT_MS', 'soon'],
    ['GANGLION_INGRESS_REQUEST_DEADLINE_MS', '1.5'],
    ['GANGLION_INGRESS_MAX_JSON_DEPTH', '-1'],
  ] as const)
    assert.throws(
      () => ingressLimitsFrom({ [name]: value }),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${name} `),
    );
  assert.throws(
    () => pushProducerOptionsFrom({ GANGLION_INGRESS_MAX_QUEUED_BYTES: '1000' }),
    (e: unknown) =>
      e instanceof ConfigError && e.message.startsWith('GANGLION_INGRESS_MAX_QUEUED_BYTES '),
  );
});

test('masked headers: the default list when unset, a comma list replaces it, none masks nothing, a bad name is a ConfigError', () => {
  assert.deepEqual(maskedHeadersFrom({}), DEFAULT_MASKED_HEADERS);
  assert.ok(DEFAULT_MASKED_HEADERS.includes('X-Gitlab-Token'));
  assert.deepEqual(
    maskedHeadersFrom({ GANGLION_INGRESS_MASKED_HEADERS: 'Authorization, X-Secret' }),
    ['Authorization', 'X-Secret'],
  );
  assert.deepEqual(maskedHeadersFrom({ GANGLION_INGRESS_MASKED_HEADERS: 'none' }), []);
  assert.throws(
    () => maskedHeadersFrom({ GANGLION_INGRESS_MASKED_HEADERS: 'Authorization,,X' }),
    (e: Error) => e instanceof ConfigError && /GANGLION_INGRESS_MASKED_HEADERS/.test(e.message),
  );
});
