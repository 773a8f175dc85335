import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, intVar, numberVar, parseServiceConfig } from './config.js';

test('intVar: default when unset or empty, the value in range, a ConfigError naming the setting otherwise', () => {
  assert.equal(intVar({}, 'X', 7, 0, 10), 7);
  assert.equal(intVar({ X: '' }, 'X', 7, 0, 10), 7);
  assert.equal(intVar({ X: '10' }, 'X', 7, 0, 10), 10);
  for (const bad of ['11', '-1', '1.5', 'abc'])
    assert.throws(() => intVar({ X: bad }, 'X', 7, 0, 10), (e: unknown) => e instanceof ConfigError && e.message === `X must be an integer between 0 and 10, got "${bad}"`);
});

test('numberVar accepts fractions in range', () => {
  assert.equal(numberVar({ X: '0.1' }, 'X', 2, 0.1, 60), 0.1);
  assert.equal(numberVar({}, 'X', 2, 0.1, 60), 2);
  assert.throws(() => numberVar({ X: '0.05' }, 'X', 2, 0.1, 60), /X must be a number between 0.1 and 60, got "0.05"/);
  assert.throws(() => numberVar({ X: 'Infinity' }, 'X', 2, 0.1, 60), ConfigError);
});

test('parseServiceConfig: ports default to 8081 (health) and 7777 (metrics) and are checked', () => {
  const c = parseServiceConfig('sensor', { KAFKA_BROKERS: 'k:9092' });
  assert.equal(c.healthPort, 8081);
  assert.equal(c.metricsPort, 7777);
  assert.equal(parseServiceConfig('sensor', { KAFKA_BROKERS: 'k:9092', GANGLION_METRICS_PORT: '0' }).metricsPort, 0);
  assert.throws(() => parseServiceConfig('sensor', { KAFKA_BROKERS: 'k:9092', GANGLION_METRICS_PORT: '70000' }), /GANGLION_METRICS_PORT must be an integer between 0 and 65535/);
});
