import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { freePort, kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { githubSource } from '../github/github.source.js';
import { webhookSource } from '../webhook/webhook.source.js';
import type { IngressLimits } from './ingress-limits.js';
import {
  BusFixture,
  eventSource,
  MemoryStore,
  secretEnv,
  startRunner,
  type RunnerFixture,
} from './push-harness.test-support.js';
import type { PushSource } from './push-source.js';

/** A POST with node:http that resolves on the response even when the server stops reading the body early. */
function rawPost(
  port: number,
  path: string,
  body: Buffer | string,
  headers: Record<string, string> = {},
  chunked = false,
): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(chunked ? {} : { 'Content-Length': Buffer.byteLength(body) }),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
        res.on('error', reject);
      },
    );
    // The server may answer and close before the whole body is sent: that is the point.
    req.on('error', reject);
    if (chunked) {
      req.write(body);
      req.end();
    } else req.end(body);
  });
}

/** Resolves when the socket closes, with the bytes it received. */
function closed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    socket.on('data', (c: Buffer) => (got += c.toString('utf8')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(got));
  });
}

function opened(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends GET /health on an open socket and resolves with the status line. */
function healthOn(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (c: Buffer): void => {
      got += c.toString('utf8');
      if (got.includes('\r\n')) {
        socket.off('data', onData);
        resolve(got.split('\r\n')[0]!);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write('GET /health HTTP/1.1\r\nHost: ingress\r\n\r\n');
  });
}

/**
 * The ingress limits (issue 17, "ingress that holds") on real sockets and a real broker:
 * timeouts, the connection cap, the request deadline, the byte-bounded queue, authentication
 * before rate limiting, 413 for what can never fit and 400 for what cannot be encoded.
 */
describe('ingress limits on a real broker', { timeout: 180_000 }, () => {
  let bus: BusFixture;
  const runners: RunnerFixture<unknown>[] = [];

  /** A runner of `source` serving `spec` (one EventSource `name`) on its own store. */
  async function serve<C>(
    source: PushSource<C>,
    name: string,
    spec: Record<string, unknown>,
    options: Parameters<typeof startRunner>[3] & { annotations?: Record<string, string> } = {},
  ): Promise<RunnerFixture<C>> {
    const store = new MemoryStore();
    store.put(bus.bus());
    store.put(eventSource(name, spec, options.annotations));
    const r = await startRunner(source, store, bus.clients, options);
    runners.push(r as RunnerFixture<unknown>);
    return r;
  }

  async function webhook(
    name: string,
    extra: Record<string, unknown> = {},
    options: Parameters<typeof startRunner>[3] = {},
  ): Promise<number> {
    const port = await freePort();
    await serve(
      webhookSource,
      name,
      { webhook: { e: { port: String(port), endpoint: '/e', method: 'POST', ...extra } } },
      options,
    );
    return port;
  }

  before(async () => {
    bus = await new BusFixture(await kafkaBrokers(), `${uniquePrefix('guard')}-bus`).start();
  });

  after(async () => {
    for (const r of runners) await r.close();
    await bus.stop();
  });

  it('cuts a slow-loris client off at the header timeout (408, connection closed)', async () => {
    const limits: Partial<IngressLimits> = { headersTimeoutMs: 400 };
    const port = await webhook('loris', {}, { limits });
    const socket = await opened(port);
    const end = closed(socket);
    const started = Date.now();
    socket.write('POST /e HTTP/1.1\r\nHost: ingress\r\n');
    // One header byte at a time, never finishing the headers.
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write('X');
    }, 50);
    try {
      const got = await Promise.race([
        end,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('slow client still connected after 5 s')), 5000),
        ),
      ]);
      const ms = Date.now() - started;
      assert.match(got, /^HTTP\/1\.1 408/);
      assert.ok(ms >= 350 && ms < 5000, `closed after ${ms} ms`);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
  });

  it('refuses connections beyond the cap at once and serves the others', async () => {
    const port = await webhook('capped', {}, { limits: { maxConnections: 3 } });
    const held = [await opened(port), await opened(port), await opened(port)];
    try {
      // The three are accepted and served.
      for (const s of held) assert.equal(await healthOn(s), 'HTTP/1.1 200 OK');
      const extra = await opened(port);
      const got = await Promise.race([
        closed(extra),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('connection beyond the cap still open')), 5000),
        ),
      ]);
      assert.equal(got, '', 'the refused connection got no answer');
      // Still served on the held connections.
      assert.equal(await healthOn(held[0]!), 'HTTP/1.1 200 OK');
      // Once one closes, a new connection is served again.
      const gone = closed(held[2]!);
      held[2]!.destroy();
      await gone;
      const status = await waitFor(
        async () => {
          const s = await opened(port);
          try {
            return await Promise.race([healthOn(s), closed(s).then(() => undefined)]);
          } finally {
            s.destroy();
          }
        },
        { what: 'a connection served after one closed' },
      );
      assert.equal(status, 'HTTP/1.1 200 OK');
    } finally {
      for (const s of held) s.destroy();
    }
  });

  it('answers 503 + Retry-After when a request misses its deadline', async () => {
    let release: () => void = () => undefined;
    const hanging: PushSource<unknown> = {
      ...(webhookSource as PushSource<unknown>),
      handle: () =>
        new Promise((resolve) => {
          release = () => resolve({ kind: 'accept', events: [] });
        }),
    };
    const port = await freePort();
    await serve(
      hanging,
      'hanging',
      { webhook: { e: { port: String(port), endpoint: '/e', method: 'POST' } } },
      { limits: { requestDeadlineMs: 300 } },
    );
    const started = Date.now();
    const res = await rawPost(port, '/e', '{}');
    const ms = Date.now() - started;
    release();
    assert.equal(res.status, 503);
    assert.equal(res.headers['retry-after'], '1');
    assert.match(res.text, /not completed within 300 ms/);
    assert.ok(ms < 3000, `answered after ${ms} ms`);
  });

  it('answers 503 at once when the send queue holds its bound in bytes', async () => {
    // Records linger 5 s in the queue, so the first one holds its bytes while the second arrives.
    const port = await webhook(
      'queue',
      { maxPayloadSize: 2_000_000 },
      {
        lingerMs: 5000,
        maxQueuedBytes: 1_000_000,
      },
    );
    const big = JSON.stringify({ pad: 'a'.repeat(600_000) });
    const first = rawPost(port, '/e', big);
    const producer = runners[runners.length - 1]!.producers.forBus(bus.bus());
    await waitFor(() => producer.depthBytes > 600_000, { what: 'the first event queued' });
    const started = Date.now();
    const second = await rawPost(port, '/e', big);
    const ms = Date.now() - started;
    assert.equal(second.status, 503);
    assert.equal(second.headers['retry-after'], '1');
    assert.match(second.text, /saturated/);
    assert.ok(ms < 1000, `503 after ${ms} ms`);
    // A small event still fits beside the first.
    const small = rawPost(port, '/e', '{"small":true}');
    assert.equal((await first).status, 200);
    assert.equal((await small).status, 200);
    await waitFor(() => bus.from('queue').length === 2, { what: 'both accepted events' });
  });

  it('checks the signature before the rate limit: unsigned floods do not use the budget', async () => {
    const port = await freePort();
    const secret = 'gh-guard-secret';
    await serve(
      githubSource,
      'ghguard',
      {
        github: {
          repo: {
            webhook: { port: String(port), endpoint: '/push', method: 'POST' },
            webhookSecret: { name: 'gh', key: 'secret' },
          },
        },
      },
      // One request per 10 s, burst 1.
      { env: secretEnv({ gh: { secret } }), annotations: { 'ganglion.io/rate-limit': '0.1' } },
    );
    const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const flood = await Promise.all(
      Array.from({ length: 50 }, () =>
        rawPost(port, '/push', body, {
          'X-GitHub-Event': 'ping',
          'X-Hub-Signature-256': 'sha256=00',
        }),
      ),
    );
    assert.deepEqual(new Set(flood.map((r) => r.status)), new Set([401]));
    const signed = {
      'X-GitHub-Event': 'ping',
      'X-GitHub-Delivery': 'd-1',
      'X-Hub-Signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    };
    const ok = await rawPost(port, '/push', body, signed);
    assert.equal(ok.status, 200, ok.text);
    // The budget still holds for signed requests.
    const limited = await rawPost(port, '/push', body, { ...signed, 'X-GitHub-Delivery': 'd-2' });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    await waitFor(() => bus.from('ghguard').length === 1, { what: 'the signed event' });
  });

  it('answers 413 to bodies that can never fit: beyond maxPayloadSize, or beyond the largest record', async () => {
    const port = await webhook('huge');
    const huge = Buffer.alloc(3 * 1024 * 1024, 'a');
    assert.equal((await rawPost(port, '/e', huge)).status, 413);
    // Without a Content-Length: cut off while reading.
    assert.equal((await rawPost(port, '/e', huge, {}, true)).status, 413);
    // Within maxPayloadSize, but the event is larger than the bus accepts (not 503 forever).
    const roomy = await webhook('roomy', { maxPayloadSize: 4 * 1024 * 1024 });
    const res = await rawPost(roomy, '/e', JSON.stringify({ pad: 'b'.repeat(1_500_000) }));
    assert.equal(res.status, 413, res.text);
    assert.match(res.text, /largest record the bus accepts/);
    assert.equal((await rawPost(roomy, '/e', '{"fits":true}')).status, 200);
    await waitFor(() => bus.from('roomy').length === 1, { what: 'the event that fits' });
  });

  it('answers 400 with the reason to deeply nested JSON, and keeps serving', async () => {
    const port = await webhook('deep');
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const res = await rawPost(port, '/e', deep);
    assert.equal(res.status, 400, res.text);
    assert.match(res.text, /nested deeper than 512 levels/);
    const shallow = '['.repeat(100) + ']'.repeat(100);
    assert.equal((await rawPost(port, '/e', shallow)).status, 200);
    await waitFor(() => bus.from('deep').length === 1, { what: 'the shallow event' });
  });
});
