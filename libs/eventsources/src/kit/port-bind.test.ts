import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pbkdf2 } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { cappedDoubling } from '@ganglion/core';
import { createLogger, type Logger } from '@ganglion/telemetry';
import { freePort, holdPort, waitFor } from '@ganglion/testing';
import { TEST_CERT, TEST_KEY } from '../fixtures/tls.fixture.js';
import {
  bindFailureOf,
  DEFAULT_BIND_RETRY,
  HttpIngress,
  type BindRetry,
  type Route,
} from './http-ingress.js';

/**
 * A port the ingress cannot bind: retried with backoff until it binds, reported while it does
 * not (`bindFailure`, `onBindChange`), one warning per state change and debug lines for the
 * repeats. Real sockets: the test holds the port with its own server first.
 */
describe('bind retry delays', () => {
  it('1 s doubling to 30 s', () =>
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 50].map((n) =>
        cappedDoubling(DEFAULT_BIND_RETRY.initialMs, DEFAULT_BIND_RETRY.maxMs, n),
      ),
      [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000],
    ));
});

describe('bind failure reasons', () => {
  const err = (code: string, message = code) => Object.assign(new Error(message), { code });
  const cases: [string, unknown, number, string, RegExp][] = [
    [
      'address in use',
      err('EADDRINUSE'),
      12000,
      'PortInUse',
      /127\.0\.0\.1:12000: address already in use \(EADDRINUSE\), another process holds port 12000/,
    ],
    [
      'privileged port',
      err('EACCES'),
      80,
      'PortNotPermitted',
      /permission denied \(EACCES\), port 80 is below 1024 and needs CAP_NET_BIND_SERVICE/,
    ],
    [
      'address not here',
      err('EADDRNOTAVAIL'),
      12000,
      'AddressNotAvailable',
      /127\.0\.0\.1 is not an address of this host/,
    ],
    [
      'anything else',
      new Error('boom'),
      12000,
      'ListenFailed',
      /127\.0\.0\.1:12000: boom; the ingress retries/,
    ],
    [
      'unprivileged port not permitted',
      err('EACCES'),
      12000,
      'PortNotPermitted',
      /permission denied \(EACCES\); the ingress retries/,
    ],
    [
      'an error without a code whose message names an object property',
      new Error('constructor'),
      12000,
      'ListenFailed',
      /127\.0\.0\.1:12000: constructor; the ingress retries/,
    ],
  ];
  for (const [name, error, port, reason, message] of cases)
    it(name, () => {
      const f = bindFailureOf(port, '127.0.0.1', error, 1);
      assert.equal(f.reason, reason);
      assert.match(f.message, message);
    });
  it('an IPv6 host is bracketed', () =>
    assert.match(bindFailureOf(9, '::1', err('EADDRINUSE'), 1).message, /on \[::1\]:9:/));
});

/**
 * A free port that the test then holds as another process would, and an ingress that retries
 * binds with `bindRetry` and counts its bind changes in `binds.changes`.
 */
async function heldPortIngress(logger: Logger, bindRetry: BindRetry) {
  const port = await freePort();
  const held = await holdPort(port);
  const binds = { changes: 0 };
  const ingress = new HttpIngress({
    host: '127.0.0.1',
    logger,
    bindRetry,
    onBindChange: () => binds.changes++,
  });
  return { port, held, ingress, binds };
}

function route(port: number): Route {
  return {
    id: 'default/hooks:example',
    port,
    endpoint: '/hook',
    method: 'POST',
    maxPayloadSize: 1024,
    handle: () => ({ kind: 'accept', events: [] }),
    publish: async () => undefined,
  };
}

describe('a port another process holds', { timeout: 60_000 }, () => {
  it('is retried until it binds; one warning, repeats at debug; reported while not bound', async () => {
    const lines: { level: string; msg: string; attempts?: number }[] = [];
    const logger = createLogger('test', {
      level: 'debug',
      write: (l) => lines.push(JSON.parse(l) as { level: string; msg: string }),
    });
    const { port, held, ingress, binds } = await heldPortIngress(logger, {
      initialMs: 50,
      maxMs: 200,
    });
    try {
      await ingress.setRoutes([route(port)]);
      assert.equal(ingress.bindFailure(port)?.reason, 'PortInUse');
      assert.equal(ingress.listening(port), false);
      assert.equal(binds.changes, 1);
      await waitFor(() => (ingress.bindFailure(port)?.attempts ?? 0) >= 4, {
        what: 'four attempts',
      });
      // A change of the routes keeps the port's backoff and its single report.
      await ingress.setRoutes([route(port)]);
      assert.ok((ingress.bindFailure(port)?.attempts ?? 0) >= 4);
      const cannot = (level: string) =>
        lines.filter((l) => l.level === level && l.msg.startsWith('cannot listen')).length;
      assert.equal(cannot('warn'), 1);
      assert.ok(cannot('debug') >= 3, `repeats at debug: ${cannot('debug')}`);
      assert.equal(binds.changes, 1);
      assert.equal((await fetch(`http://127.0.0.1:${port}/hook`, { method: 'POST' })).status, 404);

      await new Promise<void>((resolve) => held.close(() => resolve()));
      await waitFor(() => ingress.bindFailure(port) === undefined, { what: 'the port bound' });
      assert.equal(binds.changes, 2);
      assert.deepEqual(ingress.ports, [port]);
      assert.ok(ingress.listening(port));
      assert.equal(ingress.bindFailures().length, 0);
      assert.ok(
        lines.some((l) => l.level === 'info' && l.msg === 'listening after failed attempts'),
      );
      assert.equal((await fetch(`http://127.0.0.1:${port}/hook`, { method: 'POST' })).status, 200);
    } finally {
      held.close();
      await ingress.close();
    }
  });

  it('is forgotten when no route wants it; wanted again, it is tried at once', async () => {
    const logger = createLogger('test', { level: 'error' });
    const { port, held, ingress, binds } = await heldPortIngress(logger, {
      initialMs: 50,
      maxMs: 50,
    });
    try {
      await ingress.setRoutes([route(port)]);
      assert.equal(binds.changes, 1);
      await ingress.setRoutes([]);
      assert.equal(ingress.bindFailure(port), undefined);
      assert.equal(binds.changes, 2);
      assert.deepEqual(ingress.ports, []);
      // Wanted again once released: bound at once, not at a retry.
      await new Promise<void>((resolve) => held.close(() => resolve()));
      await ingress.setRoutes([route(port)]);
      assert.deepEqual(ingress.ports, [port]);
      assert.equal(ingress.bindFailure(port), undefined);
    } finally {
      held.close();
      await ingress.close();
    }
  });
});

/** Occupies every thread of libuv's pool for a while: a `listen` on a host name waits for it. */
function busyThreadPool(): Promise<void> {
  const threads = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4);
  return Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<void>((resolve) => pbkdf2('x', 'y', 3_000_000, 32, 'sha256', () => resolve())),
    ),
  ).then(() => undefined);
}

/** The status of `GET /health` over HTTPS on `port` (certificate not checked), or the error's code. */
function httpsHealth(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: '/health', rejectUnauthorized: false },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

describe('a bind retry and a route change', { timeout: 60_000 }, () => {
  it('do not interleave: a TLS change while the retry binds leaves the port served with TLS', async () => {
    // On a host name, `listen` resolves it in libuv's thread pool first: with the pool busy,
    // the retry's bind stays in flight while the route changes (before the fix, the change
    // closed that server mid-bind and the retry never settled: no server, no timer).
    const logger = createLogger('test', { level: 'error' });
    const port = await freePort();
    const held = await holdPort(port, 'localhost');
    let released = false;
    const ingress = new HttpIngress({
      host: 'localhost',
      logger,
      bindRetry: { initialMs: 100, maxMs: 100 },
    });
    try {
      await ingress.setRoutes([route(port)]);
      assert.equal(ingress.bindFailure(port)?.reason, 'PortInUse');
      const busy = busyThreadPool();
      // The retry has started: its server is registered, its host lookup waits for the pool.
      await waitFor(() => ingress.ports.includes(port), { what: 'the retry in flight' });
      const tls = ingress.setRoutes([{ ...route(port), tls: { cert: TEST_CERT, key: TEST_KEY } }]);
      await new Promise<void>((resolve) => held.close(() => resolve()));
      released = true;
      await busy;
      await tls;
      await waitFor(async () => (await httpsHealth(port)) === 200, {
        timeoutMs: 10_000,
        what: 'the port served with TLS',
      });
      assert.equal(ingress.bindFailure(port), undefined);
      assert.deepEqual(ingress.ports, [port]);
    } finally {
      if (!released) held.close();
      await ingress.close();
    }
  });
});
