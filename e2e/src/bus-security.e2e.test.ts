import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  freePort,
  KafkaBroker,
  ServiceProcess,
  uniquePrefix,
  waitFor,
  type ServiceName,
} from '@ganglion/testing';
import {
  eventBusYaml,
  manifestDir,
  Stack,
  TargetServer,
  webhookHttpSensorYaml,
  webhookSourceYaml,
} from './harness.js';

/**
 * The whole path over SASL_SSL: webhook ingress → Kafka → sensor → Kafka → http trigger, each
 * service its own process, on a broker this file starts with a SASL_SSL listener (certificates
 * made by openssl, SCRAM users by the broker's storage tool). Every service reaches the bus with
 * SCRAM-SHA-512 over TLS, verified against the test's CA (`KAFKA_TLS_*`, `KAFKA_SASL_*`).
 */
describe('webhook → sensor → trigger over SASL_SSL', { timeout: 600_000 }, () => {
  let broker: KafkaBroker;
  let stack: Stack;
  let target: TargetServer;
  let webhookUrl: string;
  let secureEnv: Record<string, string>;
  const prefix = uniquePrefix('e2e-sasl-ssl');

  before(async () => {
    broker = await KafkaBroker.start({ secure: true });
    target = await new TargetServer().start();
    const port = await freePort();
    webhookUrl = `http://127.0.0.1:${port}/example`;
    const dir = manifestDir({
      'eventbus.yaml': eventBusYaml(`${prefix}-bus`),
      'eventsource.yaml': webhookSourceYaml('webhook', port, ['example']),
      'sensor.yaml': webhookHttpSensorYaml('webhook', `http://127.0.0.1:${target.port}/notify`, {
        'body.seq': 'seq',
        'body.message': 'message',
      }),
    });
    const passwordFile = join(dir, 'kafka-password');
    writeFileSync(passwordFile, `${broker.secure.user.password}\n`);
    secureEnv = {
      KAFKA_TLS_CA_FILE: broker.secure.files.ca,
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: broker.secure.user.username,
      KAFKA_SASL_PASSWORD_FILE: passwordFile,
    };
    stack = await new Stack(broker.secure.saslSsl, prefix, dir, { env: secureEnv }).start();
  });

  after(async () => {
    await stack?.stop();
    await target?.stop();
    await broker?.destroy();
  });

  const post = (body: string): Promise<Response> =>
    fetch(webhookUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });

  it('delivers a posted event to the http target', async () => {
    const res = await post(JSON.stringify({ seq: 'first', message: 'over TLS' }));
    assert.equal(res.status, 200, await res.text());
    const call = await waitFor(
      () => target.calls.find((c) => (c.body as { seq?: string }).seq === 'first'),
      { timeoutMs: 60_000, what: 'the http trigger call over SASL_SSL' },
    );
    assert.deepEqual(call.body, { seq: 'first', message: 'over TLS' });
  });

  it('a body of exactly maxPayloadSize (1 MiB) is accepted and fits every bus topic; one byte more is a 413', async () => {
    const envelope = JSON.stringify({ seq: 'big', message: '' });
    const body = JSON.stringify({ seq: 'big', message: 'm'.repeat(1_048_576 - envelope.length) });
    assert.equal(Buffer.byteLength(body), 1_048_576);
    const res = await post(body);
    assert.equal(res.status, 200, await res.text());
    const call = await waitFor(
      () => target.calls.find((c) => (c.body as { seq?: string }).seq === 'big'),
      { timeoutMs: 60_000, what: 'the 1 MiB event at the http target' },
    );
    assert.equal((call.body as { message: string }).message.length, 1_048_576 - envelope.length);
    const over = await post(`${body} `);
    assert.equal(over.status, 413, await over.text());
  });

  /** Starts one service with these settings and waits for it to end by itself. */
  async function startUpFailure(
    name: ServiceName,
    env: Record<string, string>,
  ): Promise<{ code: number | null; errors: string[] }> {
    const proc = new ServiceProcess(name, {
      healthPort: await freePort(),
      env: {
        KAFKA_BROKERS: broker.secure.saslSsl,
        GANGLION_RESOURCES_TOPIC: `${prefix}-resources`,
        GANGLION_HOST: '127.0.0.1',
        GANGLION_INSTANCE_ID: `${prefix}-${name}-bad`,
        ...env,
      },
    }).start();
    let code: number | null | undefined;
    void proc.exited().then((c) => (code = c));
    await waitFor(() => code !== undefined, {
      timeoutMs: 60_000,
      what: `${name} to stop by itself`,
    });
    const errors = proc
      .records()
      .filter((r) => r['level'] === 'error')
      .map((r) => String(r['msg'] ?? r['message']));
    return { code: code ?? null, errors };
  }

  it('a wrong password stops a service at start-up with exit code 2 and one clear message', async () => {
    const { code, errors } = await startUpFailure('sensor', {
      ...secureEnv,
      KAFKA_SASL_PASSWORD_FILE: '',
      KAFKA_SASL_PASSWORD: 'not-the-password',
    });
    assert.equal(code, 2);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /configuration error: Kafka at 127\.0\.0\.1:\d+ refused the login/);
  });

  it('an untrusted broker certificate stops a service at start-up with exit code 2 and one clear message', async () => {
    const { code, errors } = await startUpFailure('trigger', {
      ...secureEnv,
      KAFKA_TLS_CA_FILE: broker.secure.files.untrustedCa,
    });
    assert.equal(code, 2);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /configuration error: Kafka at .*certificate is not trusted/);
  });
});
