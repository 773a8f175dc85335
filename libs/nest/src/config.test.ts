import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError,
  boolVar,
  enumVar,
  intVar,
  labelsVar,
  logLevelVar,
  numberVar,
  parseServiceConfig,
  requiredVar,
  stringVar,
  urlVar,
} from './config.js';

test('intVar: default when unset or empty, the value in range, a ConfigError naming the setting otherwise', () => {
  assert.equal(intVar({}, 'X', 7, 0, 10), 7);
  assert.equal(intVar({ X: '' }, 'X', 7, 0, 10), 7);
  assert.equal(intVar({ X: '10' }, 'X', 7, 0, 10), 10);
  for (const bad of ['11', '-1', '1.5', 'abc'])
    assert.throws(
      () => intVar({ X: bad }, 'X', 7, 0, 10),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message === `X must be an integer between 0 and 10, got "${bad}"`,
    );
});

test('numberVar accepts fractions in range', () => {
  assert.equal(numberVar({ X: '0.1' }, 'X', 2, 0.1, 60), 0.1);
  assert.equal(numberVar({}, 'X', 2, 0.1, 60), 2);
  assert.throws(
    () => numberVar({ X: '0.05' }, 'X', 2, 0.1, 60),
    /X must be a number between 0.1 and 60, got "0.05"/,
  );
  assert.throws(() => numberVar({ X: 'Infinity' }, 'X', 2, 0.1, 60), ConfigError);
});

test('parseServiceConfig: ports default to 8081 (health) and 7777 (metrics) and are checked', () => {
  const c = parseServiceConfig('sensor', { KAFKA_BROKERS: 'k:9092' });
  assert.equal(c.healthPort, 8081);
  assert.equal(c.metricsPort, 7777);
  assert.equal(
    parseServiceConfig('sensor', { KAFKA_BROKERS: 'k:9092', GANGLION_METRICS_PORT: '0' })
      .metricsPort,
    0,
  );
  assert.throws(
    () => parseServiceConfig('sensor', { KAFKA_BROKERS: 'k:9092', GANGLION_METRICS_PORT: '70000' }),
    /GANGLION_METRICS_PORT must be an integer between 0 and 65535/,
  );
});

/** Each reader: unset or empty → the default; a bad value → a ConfigError whose message names the variable. */
const namesIt = (name: string) => (e: unknown) =>
  e instanceof ConfigError &&
  (e.message.startsWith(`${name} `) || e.message.startsWith(`${name}:`));

test('stringVar and requiredVar', () => {
  assert.equal(stringVar({}, 'S'), undefined);
  assert.equal(stringVar({ S: '' }, 'S', 'def'), 'def');
  assert.equal(stringVar({ S: 'x' }, 'S', 'def'), 'x');
  assert.equal(requiredVar({ R: 'x' }, 'R', 'what it is'), 'x');
  for (const env of [{}, { R: '' }])
    assert.throws(
      () => requiredVar(env, 'R', 'what it is'),
      (e: unknown) => namesIt('R')(e) && /what it is/.test((e as Error).message),
    );
});

test('boolVar: true/false in any case, the default when unset, a ConfigError otherwise', () => {
  assert.equal(boolVar({}, 'B', true), true);
  assert.equal(boolVar({ B: '' }, 'B', false), false);
  assert.equal(boolVar({ B: 'FALSE' }, 'B', true), false);
  assert.equal(boolVar({ B: 'true' }, 'B', false), true);
  for (const bad of ['yes', '1', 'on'])
    assert.throws(() => boolVar({ B: bad }, 'B', true), namesIt('B'));
});

test('enumVar: one of the values, the default when unset, a ConfigError listing the values otherwise', () => {
  assert.equal(enumVar({}, 'E', ['a', 'b'], 'a'), 'a');
  assert.equal(enumVar({ E: 'b' }, 'E', ['a', 'b'], 'a'), 'b');
  assert.throws(
    () => enumVar({ E: 'c' }, 'E', ['a', 'b'], 'a'),
    (e: unknown) => namesIt('E')(e) && (e as Error).message === 'E must be one of a, b, got "c"',
  );
});

test('urlVar: an absolute URL or undefined', () => {
  assert.equal(urlVar({}, 'U'), undefined);
  assert.equal(urlVar({ U: 'http://127.0.0.1:9/x' }, 'U'), 'http://127.0.0.1:9/x');
  for (const bad of ['not a url', '/relative', 'localhost'])
    assert.throws(() => urlVar({ U: bad }, 'U'), namesIt('U'));
});

test('labelsVar: key=value pairs, the default when unset, a ConfigError on a bad pair or none', () => {
  const def = { app: 'x' };
  assert.deepEqual(labelsVar({}, 'L', def), def);
  assert.deepEqual(labelsVar({ L: 'a=1, app.kubernetes.io/name=b' }, 'L', def), {
    a: '1',
    'app.kubernetes.io/name': 'b',
  });
  for (const bad of ['a', 'a=b=c', ',', 'a=1,b'])
    assert.throws(() => labelsVar({ L: bad }, 'L', def), namesIt('L'));
});

test('logLevelVar: LOG_LEVEL is info by default; an unknown level fails start-up instead of falling back to info', () => {
  assert.equal(logLevelVar({}), 'info');
  assert.equal(logLevelVar({ LOG_LEVEL: 'debug' }), 'debug');
  assert.throws(() => logLevelVar({ LOG_LEVEL: 'verbose' }), namesIt('LOG_LEVEL'));
});

test('parseServiceConfig: every shared setting fails with its own name; secrets come from the API in a pod unless a directory is set', () => {
  const base = { KAFKA_BROKERS: 'k:9092' };
  assert.throws(() => parseServiceConfig('sensor', {}), namesIt('KAFKA_BROKERS'));
  for (const [name, bad] of [
    ['GANGLION_HEALTH_PORT', 'x'],
    ['GANGLION_LIVENESS_STALL_SECONDS', '-1'],
    ['GANGLION_LAG_POLL_MS', '1'],
    ['GANGLION_TOPIC_PARTITIONS', '0'],
    ['GANGLION_TOPIC_REPLICATION', '1.5'],
    ['LOG_LEVEL', 'loud'],
    ['GANGLION_SECRETS_SOURCE', 'vault'],
  ] as const)
    assert.throws(() => parseServiceConfig('sensor', { ...base, [name]: bad }), namesIt(name));
  const local = parseServiceConfig('sensor', base);
  assert.equal(local.secretsSource, 'local');
  assert.equal(local.kubeconfig, undefined);
  assert.equal(
    parseServiceConfig('sensor', { ...base, KUBERNETES_SERVICE_HOST: '10.0.0.1' }).secretsSource,
    'kubernetes',
  );
  assert.equal(
    parseServiceConfig('sensor', {
      ...base,
      KUBERNETES_SERVICE_HOST: '10.0.0.1',
      GANGLION_SECRETS_DIR: '/s',
    }).secretsSource,
    'local',
  );
  assert.equal(
    parseServiceConfig('sensor', {
      ...base,
      GANGLION_SECRETS_SOURCE: 'kubernetes',
      GANGLION_KUBECONFIG: '/k',
    }).kubeconfig,
    '/k',
  );
});

test('parseServiceConfig: Kafka TLS and SASL settings of the installation; each bad one names its variable', () => {
  const base = { KAFKA_BROKERS: 'k:9093' };
  const file = process.argv[1]!; // a file that exists
  assert.deepEqual(parseServiceConfig('sensor', base).kafkaSecurity, {});
  assert.deepEqual(
    parseServiceConfig('sensor', {
      ...base,
      KAFKA_TLS_CA_FILE: file,
      KAFKA_TLS_SERVER_NAME: 'kafka.example.com',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD_FILE: file,
    }).kafkaSecurity,
    {
      tls: { caFile: file, serverName: 'kafka.example.com' },
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'u', passwordFile: file },
    },
  );
  assert.deepEqual(parseServiceConfig('sensor', { ...base, KAFKA_TLS: 'true' }).kafkaSecurity, {
    tls: {},
  });
  for (const [name, env] of [
    ['KAFKA_SASL_MECHANISM', { KAFKA_SASL_MECHANISM: 'GSSAPI' }],
    ['KAFKA_SASL_USERNAME', { KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_PASSWORD: 'p' }],
    ['KAFKA_SASL_PASSWORD', { KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'u' }],
    ['KAFKA_TLS_CA_FILE', { KAFKA_TLS_CA_FILE: '/no/such/ca.pem' }],
    ['KAFKA_TLS_CERT_FILE', { KAFKA_TLS_CERT_FILE: file }],
    ['KAFKA_TLS', { KAFKA_TLS: 'yes' }],
  ] as const)
    assert.throws(() => parseServiceConfig('sensor', { ...base, ...env }), namesIt(name));
});

test('parseServiceConfig: topic policy defaults (auto replication) and settings', () => {
  const base = { KAFKA_BROKERS: 'k:9092' };
  const d = parseServiceConfig('reconciler', base);
  assert.equal(d.replicationFactor, 0);
  assert.deepEqual(d.topics, {
    replicationFactor: 0,
    minInsyncReplicas: 0,
    maxMessageBytes: 8 * 1024 * 1024,
    retentionMs: 168 * 3600_000,
    dlqRetentionMs: 720 * 3600_000,
  });
  const set = parseServiceConfig('reconciler', {
    ...base,
    GANGLION_TOPIC_REPLICATION: '3',
    GANGLION_TOPIC_MIN_INSYNC_REPLICAS: '2',
    GANGLION_TOPIC_RETENTION_HOURS: '24',
    GANGLION_DLQ_RETENTION_HOURS: '2000',
  });
  assert.equal(set.topics.replicationFactor, 3);
  assert.equal(set.topics.minInsyncReplicas, 2);
  assert.equal(set.topics.retentionMs, 24 * 3600_000);
  assert.equal(set.topics.dlqRetentionMs, 2000 * 3600_000);
  for (const name of ['GANGLION_TOPIC_MIN_INSYNC_REPLICAS', 'GANGLION_TOPIC_RETENTION_HOURS'])
    assert.throws(() => parseServiceConfig('sensor', { ...base, [name]: '-3' }), namesIt(name));
});
