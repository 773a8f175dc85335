import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSign, createVerify, generateKeyPairSync } from 'node:crypto';
import type {
  BitbucketEventSource,
  BitbucketServerEventSource,
  GerritEventSource,
  GitlabEventSource,
  StripeEventSource,
  SNSEventSource,
  StorageGridEventSource,
  WebhookEventSource,
} from '@ganglion/api';
import { createLogger } from '@ganglion/telemetry';
import { freePort, withBody } from '@ganglion/testing';
import { bitbucketSource } from './bitbucket/bitbucket.source.js';
import { bitbucketServerSource } from './bitbucketserver/bitbucketserver.source.js';
import { diffSnapshots } from './file/file.watcher.js';
import { gerritSource } from './gerrit/gerrit.source.js';
import { githubAppJwt } from './github/github.hooks.js';
import { gitlabSource } from './gitlab/gitlab.source.js';
import type { IncomingRequest, PushContext, PushOutcome, PushSource } from './kit/push-source.js';
import { verifyPrefixedHmac } from './kit/signatures.js';
import { signV4 } from './sns/sigv4.js';
import {
  checkSigningCertUrl,
  SNS_URL_PATTERN,
  snsSource,
  snsStringToSign,
  verifySnsSignature,
  type SnsEnvelope,
} from './sns/sns.source.js';
import { storageGridSource } from './storagegrid/storagegrid.source.js';
import { stripeSource } from './stripe/stripe.source.js';
import { webhookSource } from './webhook/webhook.source.js';

const logger = createLogger('test', { level: 'error' });

function ctx<C>(config: C, doFetch: typeof fetch = fetch): PushContext<C> {
  return {
    config,
    secrets: {},
    eventName: 'e',
    namespace: 'default',
    eventSourceName: 'es',
    logger,
    fetch: doFetch,
    now: Date.now,
    apiBase: (_p, fallback) => fallback,
  };
}

function req(
  body: string,
  header: Record<string, string> = {},
  method = 'POST',
  path = '/',
): IncomingRequest {
  const h: Record<string, string[]> = { 'Content-Type': ['application/json'] };
  for (const [k, v] of Object.entries(header)) h[k] = [v];
  return { method, url: new URL(path, 'http://x'), header: h, body: Buffer.from(body) };
}

async function handle<C>(
  source: PushSource<C>,
  config: C,
  request: IncomingRequest,
  doFetch?: typeof fetch,
): Promise<PushOutcome> {
  return source.handle(ctx(config, doFetch), request);
}

const WH = { endpoint: '/', method: 'POST', port: '1' };

/**
 * A provider REST API stub on 127.0.0.1 for hook registration tests: records one line per request
 * (`METHOD URL <authorization> <body>` unless `line` says otherwise) and answers with `respond`.
 */
async function apiStub(
  respond: (q: IncomingMessage, res: ServerResponse, body: string) => void,
  line: (q: IncomingMessage, body: string) => string = (q, body) =>
    `${q.method} ${q.url} ${q.headers.authorization} ${body}`,
): Promise<{ port: number; calls: string[]; close(): void }> {
  const calls: string[] = [];
  const port = await freePort();
  const server = createServer(
    withBody((q, res, raw) => {
      const body = raw.toString();
      calls.push(line(q, body));
      respond(q, res, body);
    }),
  );
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, calls, close: () => void server.close() };
}

describe('source handlers (pure)', () => {
  it('webhook: binary bodies become base64, empty DELETE bodies null', async () => {
    const bin = await handle<WebhookEventSource>(webhookSource, WH, {
      ...req(''),
      header: { 'Content-Type': ['application/octet-stream'] },
      body: Buffer.from([0, 1, 255]),
    });
    assert.equal(bin.kind === 'accept' && (bin.events[0]!.data as { body: unknown }).body, 'AAH/');
    const del = await handle<WebhookEventSource>(
      webhookSource,
      { ...WH, method: 'DELETE' },
      { ...req(''), method: 'DELETE' },
    );
    assert.equal(del.kind === 'accept' && (del.events[0]!.data as { body: unknown }).body, null);
  });

  it('signature headers: malformed values never match, never throw', () => {
    for (const h of [
      undefined,
      '',
      'sha256',
      'sha256=',
      'md5=abcd',
      'sha256=zz',
      `sha256=${'0'.repeat(64)}`,
    ])
      assert.equal(verifyPrefixedHmac(h, 's', Buffer.from('x')), false);
  });

  it('bitbucket cloud: X-Event-Key filter and request UUID id', async () => {
    const cfg: BitbucketEventSource = { webhook: WH, events: ['repo:push'] };
    const skip = await handle(
      bitbucketSource,
      cfg,
      req('{}', { 'X-Event-Key': 'pullrequest:created' }),
    );
    assert.ok(skip.kind === 'accept' && skip.events.length === 0);
    const ok = await handle(
      bitbucketSource,
      cfg,
      req('{"push":{}}', { 'X-Event-Key': 'repo:push', 'X-Request-Uuid': 'u-1' }),
    );
    assert.ok(ok.kind === 'accept' && ok.events[0]!.naturalId === 'u-1');
    assert.deepEqual(ok.kind === 'accept' && (ok.events[0]!.data as { body: unknown }).body, {
      push: {},
    });
    assert.equal(
      (await handle(bitbucketSource, cfg, req('{', { 'X-Event-Key': 'repo:push' }))).kind,
      'reject',
    );
  });

  it('gerrit: payload type filter', async () => {
    const cfg: GerritEventSource = {
      webhook: WH,
      events: ['patchset-created'],
      projects: [],
      auth: { username: { name: 'a', key: 'b' }, password: { name: 'a', key: 'c' } },
      gerritBaseURL: 'http://x',
    };
    const skip = await handle(gerritSource, cfg, req('{"type":"comment-added"}'));
    assert.ok(skip.kind === 'accept' && skip.events.length === 0);
    const ok = await handle(
      gerritSource,
      cfg,
      req('{"type":"patchset-created","change":{"number":1}}'),
    );
    assert.ok(ok.kind === 'accept' && ok.events.length === 1);
  });

  it('storagegrid: form notification, event and key filters', async () => {
    const cfg: StorageGridEventSource = {
      webhook: WH,
      events: ['s3:ObjectCreated:*'],
      filter: { prefix: 'in/', suffix: '.csv' },
      topicArn: 't',
      bucket: 'b',
      authToken: { name: 'a', key: 'b' },
      apiURL: 'http://x',
    };
    const form = (key: string, name = 'ObjectCreated:Put'): string =>
      new URLSearchParams({
        Action: 'Publish',
        TopicArn: 'urn:sgws:sns::t',
        Version: '2010-03-31',
        Message: JSON.stringify({ Records: [{ eventName: name, s3: { object: { key } } }] }),
      }).toString();
    const ok = await handle(
      storageGridSource,
      cfg,
      req(form('in/a.csv'), { 'Content-Type': 'application/x-www-form-urlencoded' }),
    );
    assert.ok(ok.kind === 'accept' && ok.events.length === 1);
    const data =
      ok.kind === 'accept'
        ? (ok.events[0]!.data as {
            notification: { Action: string; Message: { Records: unknown[] } };
          })
        : undefined;
    assert.equal(data?.notification.Action, 'Publish');
    assert.equal(data?.notification.Message.Records.length, 1);
    for (const f of [
      form('out/a.csv'),
      form('in/a.txt'),
      form('in/a.csv', 'ObjectRemoved:Delete'),
    ]) {
      const r = await handle(storageGridSource, cfg, req(f));
      assert.ok(r.kind === 'accept' && r.events.length === 0);
    }
    assert.equal((await handle(storageGridSource, cfg, req('Action=Publish'))).kind, 'reject');
  });

  describe('sns', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const signed = (m: Omit<SnsEnvelope, 'Signature'>, version = '1'): SnsEnvelope => {
      const s = createSign(version === '2' ? 'RSA-SHA256' : 'RSA-SHA1');
      const env = { ...m, SignatureVersion: version } as SnsEnvelope;
      s.update(snsStringToSign(env));
      return { ...env, Signature: s.sign(privateKey, 'base64') };
    };
    const note = {
      Type: 'Notification',
      MessageId: 'm-1',
      TopicArn: 'arn:aws:sns:us-east-1:1:t',
      Message: 'hello',
      Subject: 'hi',
      Timestamp: '2026-11-23T10:00:00.000Z',
      SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem',
    };

    it("SigV4 matches AWS's documented example", () => {
      const h = signV4({
        method: 'GET',
        url: new URL('https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08'),
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: '',
        region: 'us-east-1',
        service: 'iam',
        accessKey: 'AKIDEXAMPLE',
        secretKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
        now: new Date('2015-08-30T12:36:00Z'),
      });
      assert.equal(
        h['Authorization'],
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
      );
      assert.equal(h['X-Amz-Date'], '20150830T123600Z');
    });

    it('subscribes webhook.url to the topic at the endpoint with a signed Subscribe call', async () => {
      const seen: { auth?: string; body: string }[] = [];
      const port = await freePort();
      const server = createServer((q, res) => {
        let body = '';
        q.on('data', (c: Buffer) => (body += c.toString()));
        q.on('end', () => {
          seen.push({
            ...(q.headers.authorization ? { auth: q.headers.authorization } : {}),
            body,
          });
          res.end(
            '<SubscribeResponse><SubscribeResult><SubscriptionArn>arn:aws:sns:us-east-1:1:t:abc</SubscriptionArn></SubscribeResult></SubscribeResponse>',
          );
        });
      });
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      try {
        const cfg: SNSEventSource = {
          webhook: { ...WH, url: 'https://events.example.com/sns' },
          topicArn: note.TopicArn,
          region: 'us-east-1',
          endpoint: `http://127.0.0.1:${port}/`,
        };
        await snsSource.activate!({
          ...ctx(cfg),
          secrets: { accessKey: 'AKID', secretKey: 'SECRET' },
        });
        assert.equal(seen.length, 1);
        const form = new URLSearchParams(seen[0]!.body);
        assert.equal(form.get('Action'), 'Subscribe');
        assert.equal(form.get('Endpoint'), 'https://events.example.com/sns');
        assert.equal(form.get('Protocol'), 'https');
        assert.equal(form.get('TopicArn'), note.TopicArn);
        assert.match(
          seen[0]!.auth ?? '',
          /^AWS4-HMAC-SHA256 Credential=AKID\/\d{8}\/us-east-1\/sns\/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}$/,
        );
      } finally {
        server.close();
      }
    });

    it('verifies SignatureVersion 1 and 2 signatures and rejects tampering', () => {
      assert.ok(verifySnsSignature(signed(note), pem));
      assert.ok(verifySnsSignature(signed(note, '2'), pem));
      assert.ok(!verifySnsSignature({ ...signed(note), Message: 'tampered' }, pem));
    });

    it('accepts certificates only from AWS SNS hosts over HTTPS', () => {
      assert.equal(checkSigningCertUrl(note.SigningCertURL), undefined);
      for (const bad of [
        'http://sns.us-east-1.amazonaws.com/x.pem',
        'https://sns.us-east-1.amazonaws.com.evil.io/x.pem',
        'https://evil.io/sns.us-east-1.amazonaws.com/x.pem',
        'https://sns.us-east-1.amazonaws.com/x.txt',
        undefined,
      ])
        assert.ok(checkSigningCertUrl(bad), String(bad));
    });

    it('rejects a foreign certificate host, confirms subscriptions, publishes notifications', async () => {
      const cfg: SNSEventSource = {
        webhook: WH,
        topicArn: note.TopicArn,
        region: 'us-east-1',
        validateSignature: true,
      };
      const foreign = await handle(
        snsSource,
        cfg,
        req(JSON.stringify(signed({ ...note, SigningCertURL: 'https://127.0.0.1/cert.pem' }))),
      );
      assert.equal(foreign.kind === 'reject' && foreign.status, 401);
      const wrongTopic = await handle(
        snsSource,
        { ...cfg, validateSignature: false },
        req(JSON.stringify({ ...note, TopicArn: 'arn:other' })),
      );
      assert.equal(wrongTopic.kind === 'reject' && wrongTopic.status, 403);
      // Unsigned, with validateSignature off: still never fetched.
      const fetched: string[] = [];
      const loopbackOnly: typeof fetch = (input, init) => {
        const url = String(input instanceof Request ? input.url : input);
        fetched.push(url);
        if (!url.startsWith('http://127.0.0.1:'))
          throw new Error(`test fetch off loopback: ${url}`);
        return fetch(input, init);
      };
      const unsigned = await handle(
        snsSource,
        { ...cfg, validateSignature: false },
        req(
          JSON.stringify({
            ...note,
            Type: 'SubscriptionConfirmation',
            Token: 't',
            SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription',
          }),
        ),
        loopbackOnly,
      );
      assert.equal(unsigned.kind === 'reject' && unsigned.status, 401);
      assert.deepEqual(fetched, [], 'nothing fetched for an unsigned confirmation');
    });

    it('confirms a subscription only when signed, at an SNS address, within a deadline', async () => {
      const cfg: SNSEventSource = { webhook: WH, topicArn: note.TopicArn, region: 'us-east-1' };
      const hits: string[] = [];
      const server = createServer((q, res) => {
        hits.push(q.url ?? '');
        if (q.url === '/cert.pem') return void res.end(pem);
        if (q.url === '/hang') return; // never answers
        if (q.url === '/refuse') return void res.writeHead(403).end('no');
        res.end('<ConfirmSubscriptionResponse/>');
      });
      const port = await freePort();
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      const base = `http://127.0.0.1:${port}`;
      // GANGLION_SNS_URL_PATTERN pointed at this loopback server.
      const loopback: PushContext<SNSEventSource> = {
        ...ctx(cfg),
        apiBase: (name, fallback) =>
          name === SNS_URL_PATTERN ? `^http://127\\.0\\.0\\.1:${port}/$` : fallback,
      };
      const confirmation = (subscribeUrl: string) =>
        signed({
          ...note,
          Type: 'SubscriptionConfirmation',
          Token: 't',
          SubscribeURL: subscribeUrl,
          SigningCertURL: `${base}/cert.pem`,
        });
      try {
        const ok = await snsSource.handle(
          loopback,
          req(JSON.stringify(confirmation(`${base}/confirm`))),
        );
        assert.ok(ok.kind === 'accept' && ok.events.length === 0, JSON.stringify(ok));
        assert.deepEqual(hits, ['/cert.pem', '/confirm']);
        const forged = await snsSource.handle(
          loopback,
          req(JSON.stringify({ ...confirmation(`${base}/confirm`), Token: 'forged' })),
        );
        assert.equal(forged.kind === 'reject' && forged.status, 401, 'signature checked first');
        for (const elsewhere of [
          'http://169.254.169.254/latest/meta-data/',
          `http://user:pw@127.0.0.1:${port}/confirm`,
          `https://sns.us-east-1.amazonaws.com.evil.io/confirm`,
        ]) {
          const r = await snsSource.handle(loopback, req(JSON.stringify(confirmation(elsewhere))));
          assert.equal(r.kind === 'reject' && r.status, 400, elsewhere);
          assert.match(r.kind === 'reject' ? r.reason : '', /not an AWS SNS address/);
        }
        assert.deepEqual(hits, ['/cert.pem', '/confirm'], 'no other address fetched');
        // A confirmation that cannot be made now is a 503 (SNS delivers the message again),
        // never a 500 or 502: the deadline passed, the server refused, or nothing listens.
        const closed = await freePort();
        for (const url of [`${base}/hang`, `${base}/refuse`]) {
          const failed = await snsSource.handle(loopback, req(JSON.stringify(confirmation(url))));
          assert.equal(failed.kind === 'reject' && failed.status, 503, url);
          assert.match(
            failed.kind === 'reject' ? failed.reason : '',
            /confirming the subscription failed/,
          );
        }
        const unreachable: PushContext<SNSEventSource> = {
          ...loopback,
          apiBase: (name, fallback) =>
            name === SNS_URL_PATTERN ? `^http://127\\.0\\.0\\.1:(${port}|${closed})/$` : fallback,
        };
        const refused = await snsSource.handle(
          unreachable,
          req(JSON.stringify(confirmation(`http://127.0.0.1:${closed}/confirm`))),
        );
        assert.equal(refused.kind === 'reject' && refused.status, 503);
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });

    it('publishes notifications', async () => {
      const cfg: SNSEventSource = {
        webhook: WH,
        topicArn: note.TopicArn,
        region: 'us-east-1',
        validateSignature: true,
      };
      const pub = await handle(
        snsSource,
        { ...cfg, validateSignature: false },
        req(JSON.stringify(note)),
      );
      assert.ok(pub.kind === 'accept' && pub.events[0]!.naturalId === 'm-1');
      assert.deepEqual(
        pub.kind === 'accept' && (pub.events[0]!.data as { body: unknown }).body,
        note,
      );
    });
  });

  it('file snapshots: create, write, chmod, rename, remove', () => {
    const e = (
      ino: number,
      size = 1,
      mtimeMs = 1,
      mode = 0o644,
    ): { ino: number; size: number; mtimeMs: number; mode: number } => ({
      ino,
      size,
      mtimeMs,
      mode,
    });
    const before = new Map([
      ['a', e(1)],
      ['b', e(2)],
      ['c', e(3)],
      ['d', e(4)],
    ]);
    const after = new Map([
      ['a', e(1, 2, 2)],
      ['b', e(2, 1, 1, 0o600)],
      ['c2', e(3)],
      ['new', e(9)],
    ]);
    assert.deepEqual(diffSnapshots(before, after), [
      { name: 'a', op: 'WRITE' },
      { name: 'b', op: 'CHMOD' },
      { name: 'c', op: 'RENAME' },
      { name: 'd', op: 'REMOVE' },
      { name: 'c2', op: 'CREATE' },
      { name: 'new', op: 'CREATE' },
    ]);
  });

  it('github app: an RS256 JWT the app key verifies, issued for the app id', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwt = githubAppJwt(
      12345,
      privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      Date.parse('2026-11-23T10:00:00Z'),
    );
    const [h, p, sig] = jwt.split('.');
    const v = createVerify('RSA-SHA256');
    v.update(`${h}.${p}`);
    assert.ok(v.verify(publicKey, Buffer.from(sig!, 'base64url')));
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as {
      iss: string;
      iat: number;
      exp: number;
    };
    assert.equal(claims.iss, '12345');
    assert.equal(claims.exp - claims.iat, 600);
  });

  it('gitlab: registers project and group hooks through the API, deletes them on finish', async () => {
    const api = await apiStub(
      (q, res) => {
        res.setHeader('Content-Type', 'application/json');
        res.end(q.method === 'GET' ? '[]' : q.method === 'POST' ? '{"id":7}' : '');
      },
      (q, body) => `${q.method} ${q.url} ${q.headers['private-token']} ${body}`,
    );
    const { port, calls } = api;
    try {
      const cfg: GitlabEventSource = {
        webhook: { ...WH, url: 'https://hooks.example.com/gl' },
        events: ['PushEvents'],
        accessToken: { name: 'a', key: 'b' },
        gitlabBaseURL: `http://127.0.0.1:${port}`,
        projects: ['group/project'],
        groups: ['platform'],
        deleteHookOnFinish: true,
      };
      const c = { ...ctx(cfg), secrets: { accessToken: 'glpat', secretToken: 'tok' } };
      const undo = await gitlabSource.activate!(c);
      assert.ok(
        calls.some(
          (l) =>
            l.startsWith('POST /api/v4/projects/group%2Fproject/hooks glpat') &&
            l.includes('"push_events":true') &&
            l.includes('"token":"tok"'),
        ),
      );
      assert.ok(calls.some((l) => l.startsWith('POST /api/v4/groups/platform/hooks glpat')));
      await undo!();
      assert.ok(calls.includes('DELETE /api/v4/projects/group%2Fproject/hooks/7 glpat '));
      assert.ok(calls.includes('DELETE /api/v4/groups/platform/hooks/7 glpat '));
    } finally {
      api.close();
    }
  });

  it('bitbucket server and gerrit: hooks registered through their REST APIs, deleted on finish', async () => {
    const api = await apiStub((q, res) => {
      if (q.url?.startsWith('/gerrit/'))
        return void res.end(q.method === 'PUT' ? ')]}\'\n{"url":"x"}' : '');
      res.setHeader('Content-Type', 'application/json');
      if (q.method === 'GET')
        return void res.end(
          q.url?.includes('/repos/')
            ? '{"values":[{"id":3,"url":"https://hooks.example.com/bbs"}]}'
            : '{"values":[]}',
        );
      res.end(q.method === 'POST' ? '{"id":9}' : '');
    });
    const { port, calls } = api;
    try {
      const bbs: BitbucketServerEventSource = {
        webhook: { ...WH, url: 'https://hooks.example.com/bbs' },
        projects: ['PROJ'],
        repositories: [{ projectKey: 'PROJ', repositorySlug: 'repo' }],
        events: ['repo:refs_changed'],
        bitbucketserverBaseURL: `http://127.0.0.1:${port}/rest`,
        deleteHookOnFinish: true,
      };
      const undoB = await bitbucketServerSource.activate!({
        ...ctx(bbs),
        secrets: { accessToken: 'bbs-token', webhookSecret: 'hmac' },
      });
      assert.ok(
        calls.some(
          (l) =>
            l.startsWith('POST /rest/api/1.0/projects/PROJ/webhooks Bearer bbs-token') &&
            l.includes('"secret":"hmac"'),
        ),
      );
      assert.ok(
        calls.some((l) =>
          l.startsWith('PUT /rest/api/1.0/projects/PROJ/repos/repo/webhooks/3 Bearer bbs-token'),
        ),
      );
      await undoB!();
      assert.ok(calls.some((l) => l.startsWith('DELETE /rest/api/1.0/projects/PROJ/webhooks/9')));
      assert.ok(
        calls.some((l) => l.startsWith('DELETE /rest/api/1.0/projects/PROJ/repos/repo/webhooks/3')),
      );
      const gerrit: GerritEventSource = {
        webhook: { ...WH, url: 'https://hooks.example.com/gerrit' },
        events: ['patchset-created'],
        projects: ['my/project'],
        auth: { username: { name: 'g', key: 'u' }, password: { name: 'g', key: 'p' } },
        gerritBaseURL: `http://127.0.0.1:${port}/gerrit`,
        hookName: 'ci',
        deleteHookOnFinish: true,
      };
      const undoG = await gerritSource.activate!({
        ...ctx(gerrit),
        secrets: { username: 'bot', password: 'pw' },
      });
      const basic = `Basic ${Buffer.from('bot:pw').toString('base64')}`;
      assert.ok(
        calls.some(
          (l) =>
            l.startsWith(
              `PUT /gerrit/a/config/server/webhooks~projects/my%2Fproject/remotes/ci ${basic}`,
            ) && l.includes('"url":"https://hooks.example.com/gerrit"'),
        ),
      );
      await undoG!();
      assert.ok(
        calls.some((l) =>
          l.startsWith('DELETE /gerrit/a/config/server/webhooks~projects/my%2Fproject/remotes/ci'),
        ),
      );
    } finally {
      api.close();
    }
  });

  it('stripe createWebhook: creates the endpoint for eventFilter, updates it when the URL exists', async () => {
    let endpoints: { id: string; url: string }[] = [];
    const api = await apiStub(
      (q, res, body) => {
        res.setHeader('Content-Type', 'application/json');
        if (q.method === 'GET') return void res.end(JSON.stringify({ data: endpoints }));
        if (q.url === '/v1/webhook_endpoints')
          endpoints = [{ id: 'we_1', url: new URLSearchParams(body).get('url')! }];
        res.end(JSON.stringify({ id: 'we_1' }));
      },
      (q, body) => `${q.method} ${q.url} ${q.headers.authorization} ${decodeURIComponent(body)}`,
    );
    const { port, calls } = api;
    try {
      const cfg: StripeEventSource = {
        webhook: { ...WH, url: 'https://events.example.com/stripe' },
        createWebhook: true,
        eventFilter: ['charge.succeeded'],
      };
      const c = {
        ...ctx(cfg),
        secrets: { apiKey: 'sk_test_1' },
        apiBase: () => `http://127.0.0.1:${port}/v1/`,
      };
      await stripeSource.activate!(c);
      await stripeSource.activate!(c);
      assert.ok(
        calls.some(
          (l) =>
            l ===
            'POST /v1/webhook_endpoints Bearer sk_test_1 enabled_events[]=charge.succeeded&url=https://events.example.com/stripe',
        ),
        calls.join('\n'),
      );
      assert.ok(
        calls.some(
          (l) =>
            l ===
            'POST /v1/webhook_endpoints/we_1 Bearer sk_test_1 enabled_events[]=charge.succeeded',
        ),
        calls.join('\n'),
      );
    } finally {
      api.close();
    }
  });

  it('bitbucket cloud: repository hooks registered with the app password, deleted on finish', async () => {
    const api = await apiStub((q, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(
        q.method === 'GET' ? '{"values":[]}' : q.method === 'POST' ? '{"uuid":"{a1b2}"}' : '',
      );
    });
    const { port, calls } = api;
    try {
      const cfg: BitbucketEventSource = {
        webhook: { ...WH, url: 'https://events.example.com/bb' },
        repositories: [{ owner: 'team', repositorySlug: 'repo' }],
        events: ['repo:push'],
        deleteHookOnFinish: true,
      };
      const c = {
        ...ctx(cfg),
        secrets: { username: 'u', password: 'app-pw' },
        apiBase: () => `http://127.0.0.1:${port}/2.0/`,
      };
      const undo = await bitbucketSource.activate!(c);
      const basic = `Basic ${Buffer.from('u:app-pw').toString('base64')}`;
      assert.ok(
        calls.some(
          (l) =>
            l.startsWith(`POST /2.0/repositories/team/repo/hooks ${basic}`) &&
            l.includes('"url":"https://events.example.com/bb"'),
        ),
        calls.join('\n'),
      );
      await undo!();
      assert.ok(
        calls.some((l) => l.startsWith('DELETE /2.0/repositories/team/repo/hooks/%7Ba1b2%7D')),
        calls.join('\n'),
      );
    } finally {
      api.close();
    }
  });
});
