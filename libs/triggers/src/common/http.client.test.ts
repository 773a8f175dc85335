import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient, HttpCallError } from './http.client.js';

describe('HttpClient (undici) against a local server', () => {
  let server: Server;
  let base: string;
  const client = new HttpClient();
  const sockets = new Set<string>();

  before(async () => {
    server = createServer((req, res) => {
      sockets.add(`${req.socket.remotePort}`);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/big')
          return void res.writeHead(200, { 'x-kind': 'big' }).end(Buffer.alloc(3 * 1024, 'a'));
        if (req.url === '/hang') return; // never answers
        res.writeHead(201, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            method: req.method,
            body: Buffer.concat(chunks).toString('utf8'),
            key: req.headers['idempotency-key'],
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    client.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('sends method, headers and body; returns status, headers and body; reuses connections', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await client.request({
        method: 'PUT',
        url: `${base}/echo?i=${i}`,
        headers: { 'Idempotency-Key': `a${i}` },
        body: Buffer.from(`b${i}`),
        timeoutMs: 5_000,
      });
      assert.equal(res.status, 201);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(res.body.toString('utf8')), {
        method: 'PUT',
        body: `b${i}`,
        key: `a${i}`,
      });
    }
    assert.ok(sockets.size < 5, `keep-alive connections are reused (${sockets.size} for 20 calls)`);
  });

  it('drops the hop-by-hop headers it manages itself instead of failing the call', async () => {
    const headers = {
      Connection: 'upgrade',
      'Keep-Alive': 'timeout=5',
      'Transfer-Encoding': 'chunked',
      Upgrade: 'h2c',
      Expect: '100-continue',
      'Content-Length': '999',
      TE: 'trailers',
      'Idempotency-Key': 'k1',
    };
    const res = await client.request({
      method: 'POST',
      url: `${base}/echo`,
      headers,
      body: Buffer.from('{"a":1}'),
      timeoutMs: 5_000,
    });
    assert.equal(res.status, 201);
    assert.deepEqual(JSON.parse(res.body.toString('utf8')), {
      method: 'POST',
      body: '{"a":1}',
      key: 'k1',
    });
  });

  it('keeps at most maxResponseBytes of the body', async () => {
    const res = await client.request({
      method: 'GET',
      url: `${base}/big`,
      headers: {},
      timeoutMs: 5_000,
      maxResponseBytes: 1000,
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 1000);
    assert.equal(res.headers['x-kind'], 'big');
  });

  it('one deadline for the exchange: ETIMEDOUT', async () => {
    const t0 = Date.now();
    await assert.rejects(
      client.request({ method: 'POST', url: `${base}/hang`, headers: {}, timeoutMs: 300 }),
      (err: unknown) =>
        err instanceof HttpCallError && err.code === 'ETIMEDOUT' && /300 ms/.test(err.message),
    );
    assert.ok(Date.now() - t0 < 5_000);
  });

  it("the caller's signal aborts a call in flight", async () => {
    const ac = new AbortController();
    const call = client.request({
      method: 'POST',
      url: `${base}/hang`,
      headers: {},
      timeoutMs: 60_000,
      signal: ac.signal,
    });
    setImmediate(() => ac.abort(new Error('shutting down')));
    await assert.rejects(
      call,
      (err: unknown) => !(err instanceof HttpCallError && err.code === 'ETIMEDOUT'),
    );
  });

  it('refuses other schemes and unparsable URLs without a request', async () => {
    await assert.rejects(
      client.request({ method: 'GET', url: 'ftp://127.0.0.1/x', headers: {}, timeoutMs: 1_000 }),
      (err: unknown) => err instanceof HttpCallError && err.code === 'ERR_SCHEME',
    );
    await assert.rejects(
      client.request({ method: 'GET', url: 'not a url', headers: {}, timeoutMs: 1_000 }),
      (err: unknown) => err instanceof HttpCallError && err.code === 'ERR_INVALID_URL',
    );
  });

  it('a refused connection fails with its code', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await assert.rejects(
      client.request({
        method: 'GET',
        url: `http://127.0.0.1:${port}/`,
        headers: {},
        timeoutMs: 5_000,
      }),
      (err: unknown) => (err as { code?: string }).code === 'ECONNREFUSED',
    );
  });
});
