import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '@ganglion/nest';
import { parseAdmissionConfig } from './admission.config.js';

const names = (name: string) => (e: unknown) =>
  e instanceof ConfigError && e.message.startsWith(`${name} `);

test('admission settings: the certificate files are required; ports and the log level are checked', () => {
  const files = { GANGLION_ADMISSION_CERT: '/tls/tls.crt', GANGLION_ADMISSION_KEY: '/tls/tls.key' };
  const c = parseAdmissionConfig(files);
  assert.equal(c.port, 8443);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.service.logLevel, 'info');
  assert.throws(
    () => parseAdmissionConfig({ GANGLION_ADMISSION_KEY: '/k' }),
    names('GANGLION_ADMISSION_CERT'),
  );
  assert.throws(
    () => parseAdmissionConfig({ GANGLION_ADMISSION_CERT: '/c' }),
    names('GANGLION_ADMISSION_KEY'),
  );
  for (const [name, bad] of [
    ['GANGLION_ADMISSION_PORT', '0'],
    ['GANGLION_HEALTH_PORT', 'x'],
    ['GANGLION_METRICS_PORT', '65536'],
    ['LOG_LEVEL', 'trace'],
  ] as const)
    assert.throws(() => parseAdmissionConfig({ ...files, [name]: bad }), names(name));
});
