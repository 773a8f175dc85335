import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { EmailTrigger, Trigger } from '@ganglion/api';
import { waitFor } from '@ganglion/testing';
import { context, event, secretsDir, selfSignedCert } from '../fixtures/trigger.fixtures.js';
import { createEmailTrigger } from './email.trigger.js';

interface Mail {
  from: string;
  to: string[];
  user: string | undefined;
  raw: string;
}

describe('email trigger against an in-process SMTP server', () => {
  const mails: Mail[] = [];
  let port = 0;
  let plainPort = 0;
  const tls = selfSignedCert('127.0.0.1');
  /** Logins the server without STARTTLS received (in clear text). */
  const plainLogins: string[] = [];
  // A server without STARTTLS that would take a login in clear text.
  const plain = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    onAuth(auth, _session, cb) {
      plainLogins.push(`${auth.username}:${auth.password}`);
      cb(null, { user: auth.username });
    },
    onData(stream, _session, cb) {
      stream.resume();
      stream.on('end', () => cb());
    },
  });
  // STARTTLS offered (self-signed); logins only after it.
  const server = new SMTPServer({
    authOptional: false,
    allowInsecureAuth: false,
    key: tls.key,
    cert: tls.cert,
    onAuth(auth, _session, cb) {
      if (auth.username === 'mailer' && auth.password === 'smtp-pw')
        cb(null, { user: auth.username });
      else cb(new Error('invalid credentials'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
  });
  const plugin = createEmailTrigger({ rejectUnauthorized: false });
  const ctx = context({
    secretsDir: secretsDir({ smtp: { password: 'smtp-pw' } }),
    actionId: 'd'.repeat(32),
  });
  const events = { dep: event({ who: 'bob@example.com', title: 'Build failed' }) };

  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.server.address() as AddressInfo).port;
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    plainPort = (plain.server.address() as AddressInfo).port;
  });
  after(async () => {
    await plugin.close?.();
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => plain.close(() => r()));
  });
  const base = (): EmailTrigger => ({
    host: '127.0.0.1',
    port,
    username: 'mailer',
    smtpPassword: { name: 'smtp', key: 'password' },
    from: 'ganglion@example.com',
    to: ['ops@example.com'],
    subject: 's',
    body: 'b',
  });

  it("sends over SMTP with auth, honouring the type's parameters (unlike Argo), with a Message-ID from the action id", async () => {
    const r = await plugin.execute(
      {
        ...base(),
        parameters: [
          { src: { dependencyName: 'dep', dataKey: 'who' }, dest: 'to.-1' },
          { src: { dependencyName: 'dep', dataKey: 'title' }, dest: 'subject' },
        ],
      },
      { template: { name: 'e' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, true, JSON.stringify(r));
    const mail = await waitFor(() => mails.at(-1), { what: 'the mail' });
    assert.equal(mail.user, 'mailer');
    assert.equal(mail.from, 'ganglion@example.com');
    assert.deepEqual(mail.to, ['ops@example.com', 'bob@example.com']);
    assert.match(mail.raw, /^Subject: Build failed$/m);
    assert.match(mail.raw, new RegExp(`^Message-ID: <${'d'.repeat(32)}@ganglion>$`, 'mi'));
    assert.match(mail.raw, /\r\n\r\nb/);
  });

  it('a bad recipient is refused before connecting (non-retryable)', async () => {
    const before = mails.length;
    const r = await plugin.execute(
      { ...base(), to: ['not an address'] },
      { template: { name: 'e' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.retryable, false);
    assert.equal(mails.length, before);
  });

  it('wrong credentials fail the attempt', async () => {
    const r = await plugin.execute(
      { ...base(), username: 'intruder' },
      { template: { name: 'e' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /auth|credentials|535/i);
  });

  it('never sends a login in clear text: a server without STARTTLS fails the send, non-retryable', async () => {
    const r = await plugin.execute(
      { ...base(), port: plainPort },
      { template: { name: 'e' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.retryable, false);
    assert.match(
      !r.ok ? r.error : '',
      /offers no STARTTLS, and credentials are sent only over TLS/,
    );
    assert.deepEqual(plainLogins, [], 'no login reached the server');
    // Without a login, a server without STARTTLS is fine (nothing secret travels).
    const anonymous = await plugin.execute(
      { ...base(), port: plainPort, username: undefined, smtpPassword: undefined } as never,
      { template: { name: 'e' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(anonymous.ok, true, JSON.stringify(anonymous));
  });
});
