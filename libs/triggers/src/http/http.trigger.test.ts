import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HTTPTrigger, Trigger } from '@ganglion/api';
import {
  context,
  event,
  RecordingServer,
  secretsDir,
  selfSignedCert,
} from '../fixtures/trigger.fixtures.js';
import { createHttpTrigger } from './http.trigger.js';

describe('http trigger against real HTTP(S) servers', () => {
  const plugin = createHttpTrigger();
  const server = new RecordingServer();
  const events = { dep: event({ body: { message: 'hello', path: '/dyn', token: 'tok-1' } }) };
  const dir = secretsDir({ api: { token: 's3cret' }, basic: { user: 'alice', pass: 'pw' } });
  const ctx = context({ secretsDir: dir, actionId: 'f'.repeat(32) });
  const run = (t: Partial<HTTPTrigger>, trigger: Partial<Trigger> = {}) =>
    plugin.execute(
      { url: `${server.url}/hook`, ...t } as HTTPTrigger,
      { template: { name: 'h' }, ...trigger } as Trigger,
      events,
      ctx,
    );

  before(async () => {
    await server.start((call, res) => {
      const m = /status=(\d+)/.exec(call.url);
      res.writeHead(m ? Number(m[1]) : 200).end('done');
    });
  });
  after(async () => {
    await plugin.close?.();
    await server.stop();
  });

  it('posts the payload with the Idempotency-Key header and type-level parameters', async () => {
    const r = await run({
      payload: [{ src: { dependencyName: 'dep', dataKey: 'body.message' }, dest: 'text' }],
      parameters: [
        { src: { dependencyName: 'dep', dataKey: 'body.path' }, dest: 'url', operation: 'append' },
      ],
      headers: { 'X-Static': 'yes' },
    });
    assert.equal(r.ok, true, JSON.stringify(r));
    const call = server.calls.at(-1)!;
    assert.equal(call.method, 'POST');
    assert.equal(call.url, '/hook/dyn');
    assert.deepEqual(call.json, { text: 'hello' });
    assert.equal(call.headers['idempotency-key'], 'f'.repeat(32));
    assert.equal(call.headers['x-static'], 'yes');
  });

  const statuses: Array<[string, number, boolean, boolean]> = [
    ['200 succeeds', 200, true, false],
    ['204 succeeds', 204, true, false],
    ['404 fails without retry', 404, false, false],
    ['429 fails and is retried', 429, false, true],
    ['500 fails and is retried', 500, false, true],
    ['503 fails and is retried', 503, false, true],
  ];
  for (const [name, status, ok, retryable] of statuses) {
    it(`status ${name}`, async () => {
      const r = await run({ url: `${server.url}/s?status=${status}` });
      assert.equal(r.ok, ok, JSON.stringify(r));
      if (!r.ok) assert.equal(r.retryable, retryable);
    });
  }

  it('policy.status.allow makes a listed 5xx succeed and an unlisted 200 fail', async () => {
    const allow503 = await run(
      { url: `${server.url}/s?status=503` },
      { policy: { status: { allow: [200, 503] } } },
    );
    assert.equal(allow503.ok, true);
    const deny200 = await run(
      { url: `${server.url}/s?status=200` },
      { policy: { status: { allow: [201] } } },
    );
    assert.equal(deny200.ok, false);
    assert.match(!deny200.ok ? deny200.error : '', /policy\.status\.allow: 201/);
  });

  it('sends secureHeaders from Secrets, dynamicHeaders from event data, and basic auth', async () => {
    const r = await run({
      method: 'PUT',
      secureHeaders: [
        { name: 'X-Api-Key', valueFrom: { secretKeyRef: { name: 'api', key: 'token' } } },
      ],
      dynamicHeaders: [{ src: { dependencyName: 'dep', dataKey: 'body.token' }, dest: 'X-Token' }],
      basicAuth: {
        username: { name: 'basic', key: 'user' },
        password: { name: 'basic', key: 'pass' },
      },
    });
    assert.equal(r.ok, true, JSON.stringify(r));
    const call = server.calls.at(-1)!;
    assert.equal(call.method, 'PUT');
    assert.equal(call.headers['x-api-key'], 's3cret');
    assert.equal(call.headers['x-token'], 'tok-1');
    assert.equal(
      call.headers['authorization'],
      `Basic ${Buffer.from('alice:pw').toString('base64')}`,
    );
  });

  it('a missing Secret fails the attempt with its name', async () => {
    const r = await run({
      secureHeaders: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }],
    });
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /nope/);
  });

  it("a method outside Argo's list is refused without a request", async () => {
    const before = server.calls.length;
    const r = await run({ method: 'TRACE' as never });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.retryable, false);
    assert.equal(server.calls.length, before);
  });

  it('a parameter that cannot resolve is a non-retryable failure', async () => {
    const r = await run({
      payload: [
        { src: { dependencyName: 'dep', dataTemplate: '{{ .Input.nope.deeper }}' }, dest: 'x' },
      ],
    });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.retryable, false);
  });

  it('timeout: a target that does not answer in time fails the attempt (retryable)', async () => {
    const slow = await new RecordingServer().start(() => undefined);
    try {
      const started = Date.now();
      const r = await plugin.execute(
        { url: `${slow.url}/hang`, timeout: 1 } as HTTPTrigger,
        { template: { name: 'h' } } as Trigger,
        events,
        ctx,
      );
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.retryable, true);
      assert.ok(Date.now() - started < 5000);
    } finally {
      await slow.stop();
    }
  });

  describe('TLS', () => {
    const cert = selfSignedCert();
    const tlsServer = new RecordingServer(cert);
    const tlsDir = secretsDir({ ca: { 'ca.crt': cert.cert } });
    const tlsCtx = context({ secretsDir: tlsDir });
    before(() => tlsServer.start());
    after(() => tlsServer.stop());
    const call = (tls: HTTPTrigger['tls']) =>
      plugin.execute(
        { url: `${tlsServer.url}/secure`, ...(tls ? { tls } : {}) } as HTTPTrigger,
        { template: { name: 'h' } } as Trigger,
        events,
        tlsCtx,
      );

    it('verifies the server against tls.caCertSecret', async () => {
      const r = await call({ caCertSecret: { name: 'ca', key: 'ca.crt' } });
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(tlsServer.calls.at(-1)?.url, '/secure');
    });
    it('refuses a self-signed server without its CA', async () => {
      const r = await call(undefined);
      assert.equal(r.ok, false);
      assert.match(!r.ok ? r.error : '', /self.signed|certificate/i);
    });
    it('accepts it with insecureSkipVerify', async () => {
      const r = await call({ insecureSkipVerify: true });
      assert.equal(r.ok, true, JSON.stringify(r));
    });
  });

  describe('mutual TLS', () => {
    const serverCert = selfSignedCert();
    const clientCert = selfSignedCert('ganglion-client');
    const mtls = new RecordingServer({
      ...serverCert,
      ca: clientCert.cert,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const dir2 = secretsDir({
      mtls: { 'ca.crt': serverCert.cert, 'tls.crt': clientCert.cert, 'tls.key': clientCert.key },
    });
    const ctx2 = context({ secretsDir: dir2 });
    before(() => mtls.start());
    after(() => mtls.stop());
    const call = (tls: HTTPTrigger['tls']) =>
      plugin.execute(
        { url: `${mtls.url}/mtls`, tls } as HTTPTrigger,
        { template: { name: 'h' } } as Trigger,
        events,
        ctx2,
      );

    it('presents clientCertSecret/clientKeySecret to a server that requires a client certificate', async () => {
      const r = await call({
        caCertSecret: { name: 'mtls', key: 'ca.crt' },
        clientCertSecret: { name: 'mtls', key: 'tls.crt' },
        clientKeySecret: { name: 'mtls', key: 'tls.key' },
      });
      assert.equal(r.ok, true, JSON.stringify(r));
    });
    it('is refused without the client certificate', async () => {
      const r = await call({ caCertSecret: { name: 'mtls', key: 'ca.crt' } });
      assert.equal(r.ok, false);
    });
  });
});
