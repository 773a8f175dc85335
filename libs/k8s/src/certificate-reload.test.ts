import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { waitFor } from '@ganglion/testing';
import { createAdmissionServer, reloadCertificate } from './admission.js';

/** A self-signed certificate for 127.0.0.1, made with openssl. */
function certificate(cn: string): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-cert-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  return {
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
  };
}

/** The SHA-256 fingerprint of the certificate a real TLS client is served on `port`. */
function served(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()!.fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

/** Writes a file the way the kubelet updates a mounted Secret: a new file renamed over the old. */
function swap(path: string, content: string): void {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
}

test(
  'the admission server serves a rotated certificate without a restart; a half-rotated pair keeps the old one',
  { timeout: 60_000 },
  async () => {
    const a = certificate('first');
    const b = certificate('second');
    const fp = (pem: string): string => new X509Certificate(pem).fingerprint256;
    const dir = mkdtempSync(join(tmpdir(), 'ganglion-admission-tls-'));
    const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
    writeFileSync(files.cert, a.cert);
    writeFileSync(files.key, a.key);
    const server = createAdmissionServer({ ...a, host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const errors: Error[] = [];
    let reloads = 0;
    const stop = reloadCertificate(server, files, {
      intervalMs: 50,
      onReload: () => reloads++,
      onError: (e) => errors.push(e),
    });
    try {
      assert.equal(await served(port), fp(a.cert));
      // The certificate is replaced before its key: the mismatched pair is refused, A stays.
      swap(files.cert, b.cert);
      await waitFor(() => errors.length > 0, { what: 'the mismatched pair to be refused' });
      assert.equal(await served(port), fp(a.cert));
      assert.equal(reloads, 0);
      swap(files.key, b.key);
      await waitFor(async () => (await served(port)) === fp(b.cert), {
        what: 'the new certificate to be served',
      });
      assert.equal(reloads, 1);
    } finally {
      stop();
      server.close();
    }
  },
);
