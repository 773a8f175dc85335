import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { webhookSource } from '../webhook/webhook.source.js';
import {
  BusFixture,
  eventSource,
  MemoryStore,
  startRunner,
  type RunnerFixture,
} from './push-harness.test-support.js';

/** A self-signed certificate for 127.0.0.1, made with openssl. */
function certificate(cn: string): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-cert-'));
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${cn}`],
      ...['-addext', 'subjectAltName=IP:127.0.0.1'],
      ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    ],
    { stdio: 'ignore' },
  );
  return {
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
  };
}

/** One HTTPS request on a new connection: its status and the certificate it was served. */
function post(port: number, token: string): Promise<{ status: number; cert: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/rotating',
        method: 'POST',
        rejectUnauthorized: false,
        agent: false,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      },
      (res) => {
        const cert = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate();
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, cert: cert!.fingerprint256 }));
      },
    );
    req.on('error', reject);
    req.end('{"n":1}');
  });
}

/**
 * Rotated Secrets apply without a restart: the push ingress re-resolves its routes' Secrets, so
 * a new bearer token and a new TLS certificate are in force on the same port, seen by a real
 * TLS client.
 */
describe('a push route whose Secrets rotate', { timeout: 120_000 }, () => {
  let bus: BusFixture;
  let runner: RunnerFixture<unknown>;
  const store = new MemoryStore();
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-secrets-'));
  const put = (name: string, key: string, value: string): void => {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, key), value);
  };
  const a = certificate('first');
  const b = certificate('second');
  const fp = (pem: string): string => new X509Certificate(pem).fingerprint256;
  let port = 0;

  before(async () => {
    bus = await new BusFixture(await kafkaBrokers(), `${uniquePrefix('rotate')}-bus`).start();
    port = await freePort();
    put('hook', 'token', 'first-token');
    put('tls', 'crt', a.cert);
    put('tls', 'key', a.key);
    store.put(bus.bus());
    store.put(
      eventSource('rotating', {
        webhook: {
          e: {
            port: String(port),
            endpoint: '/rotating',
            method: 'POST',
            authSecret: { name: 'hook', key: 'token' },
            serverCertSecret: { name: 'tls', key: 'crt' },
            serverKeySecret: { name: 'tls', key: 'key' },
          },
        },
      }),
    );
    runner = (await startRunner(webhookSource, store, bus.clients, {
      secretsDir: dir,
      secretRefreshMs: 100,
    })) as RunnerFixture<unknown>;
  });

  after(async () => {
    await runner?.close();
    await bus?.stop();
  });

  it('serves the new token and certificate once the Secret changes', async () => {
    const first = await waitFor(() => post(port, 'first-token').catch(() => undefined), {
      what: 'the route',
    });
    assert.deepEqual(first, { status: 200, cert: fp(a.cert) });
    put('hook', 'token', 'second-token');
    put('tls', 'key', b.key);
    put('tls', 'crt', b.cert);
    const second = await waitFor(
      async () => {
        const r = await post(port, 'second-token').catch(() => undefined);
        return r?.status === 200 && r.cert === fp(b.cert) ? r : undefined;
      },
      { timeoutMs: 30_000, what: 'the rotated token and certificate' },
    );
    assert.equal(second.cert, fp(b.cert));
    assert.equal((await post(port, 'first-token')).status, 401, 'the old token is refused');
  });
});
