import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BusClients } from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import { freePort, kafkaBrokers, uniquePrefix, waitFor, withBody } from '@ganglion/testing';
import {
  ALERTMANAGER_FIRING,
  BITBUCKET_SERVER_REFS_CHANGED,
  GITHUB_PULL_REQUEST,
  GITHUB_PUSH,
  GITLAB_PUSH,
  STRIPE_CHARGE_REFUNDED,
  STRIPE_PAYMENT_SUCCEEDED,
} from './fixtures/payloads.fixture.js';
import { TEST_CERT, TEST_KEY } from './fixtures/tls.fixture.js';
import { naturalEventId } from './kit/cloudevent.js';
import { MASKED_AUTH } from './kit/headers.js';
import {
  BusFixture,
  eventSource,
  MemoryStore,
  secretEnv,
  startRunner,
  type RunnerFixture,
} from './kit/push-harness.test-support.js';
import type { PushSource } from './kit/push-source.js';
import { bitbucketServerSource } from './bitbucketserver/bitbucketserver.source.js';
import { githubSource } from './github/github.source.js';
import { gitlabSource } from './gitlab/gitlab.source.js';
import { slackSource } from './slack/slack.source.js';
import { stripeSource } from './stripe/stripe.source.js';
import { webhookSource } from './webhook/webhook.source.js';

const SECRETS = {
  bearer: { token: 's3cr3t-token' },
  github: { secret: 'gh-hook-secret', token: 'ghp_test' },
  gitlab: { token: 'gl-secret-token' },
  stripe: { whsec: 'whsec_test_5Z9b' },
  slack: { signing: 'slack-signing-secret' },
  bbs: { secret: 'bbs-hmac-secret' },
};

/**
 * Push sources through the shared ingress kit: real HTTP on 127.0.0.1, a real Kafka broker,
 * recorded-format provider payloads. Every rejected request is followed by an accepted one on
 * the same route (same partition, same producer), so "nothing was published" is observable.
 */
describe('push sources on a real broker', { timeout: 240_000 }, () => {
  let bus: BusFixture;
  const store = new MemoryStore();
  const runners: RunnerFixture<unknown>[] = [];
  const ports: Record<string, number> = {};
  let github: GithubApiStub;

  const post = (
    port: number,
    path: string,
    body: string | Buffer,
    headers: Record<string, string> = {},
    method = 'POST',
  ): Promise<Response> =>
    fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...headers },
      ...(method === 'GET' || method === 'HEAD' ? {} : { body }),
    });

  async function run<C>(
    source: PushSource<C>,
    options: Parameters<typeof startRunner>[3] = {},
  ): Promise<void> {
    runners.push(
      (await startRunner(source, store, bus.clients, {
        env: secretEnv(SECRETS),
        ...options,
      })) as RunnerFixture<unknown>,
    );
  }

  before(async () => {
    bus = await new BusFixture(await kafkaBrokers(), `${uniquePrefix('push')}-bus`).start();
    github = await new GithubApiStub().start();
    for (const n of [
      'webhook',
      'auth',
      'tls',
      'github',
      'gitlab',
      'stripe',
      'slack',
      'bbs',
      'limited',
    ])
      ports[n] = await freePort();
    store.put(bus.bus());
    store.put(
      eventSource('webhook', {
        webhook: {
          example: {
            port: String(ports['webhook']),
            endpoint: '/example',
            method: 'POST',
            metadata: { team: 'sre' },
          },
          query: { port: String(ports['webhook']), endpoint: '/query', method: 'GET' },
          put: { port: String(ports['webhook']), endpoint: '/put', method: 'PUT' },
          small: {
            port: String(ports['webhook']),
            endpoint: '/small',
            method: 'POST',
            maxPayloadSize: 64,
          },
          anytype: { port: String(ports['webhook']), endpoint: '/anytype', method: 'POST' },
          alerts: {
            port: String(ports['webhook']),
            endpoint: '/alerts',
            method: 'POST',
            filter: {
              expression: 'body.status == "firing" && body.commonLabels.severity == "critical"',
            },
          },
        },
      }),
    );
    store.put(
      eventSource('auth', {
        webhook: {
          secured: {
            port: String(ports['auth']),
            endpoint: '/secured',
            method: 'POST',
            authSecret: { name: 'bearer', key: 'token' },
          },
        },
      }),
    );
    store.put(
      eventSource('tls', {
        webhook: {
          secure: {
            port: String(ports['tls']),
            endpoint: '/tls',
            method: 'POST',
            serverCertSecret: { name: 'tls', key: 'crt' },
            serverKeySecret: { name: 'tls', key: 'key' },
          },
        },
      }),
    );
    store.put(
      eventSource(
        'limited',
        {
          webhook: {
            burst: { port: String(ports['limited']), endpoint: '/limited', method: 'POST' },
          },
        },
        { 'ganglion.io/rate-limit': '2' },
      ),
    );
    store.put(
      eventSource('github', {
        github: {
          repo: {
            webhook: {
              port: String(ports['github']),
              endpoint: '/push',
              method: 'POST',
              url: 'https://hooks.example.com/push',
            },
            repositories: [{ owner: 'Codertocat', names: ['Hello-World'] }],
            events: ['push', 'pull_request'],
            webhookSecret: { name: 'github', key: 'secret' },
            apiToken: { name: 'github', key: 'token' },
            githubBaseURL: `http://127.0.0.1:${github.port}/api/v3/`,
            deleteHookOnFinish: true,
            contentType: 'json',
          },
        },
      }),
    );
    store.put(
      eventSource('gitlab', {
        gitlab: {
          push: {
            webhook: { port: String(ports['gitlab']), endpoint: '/gitlab', method: 'POST' },
            events: ['PushEvents'],
            accessToken: { name: 'gitlab', key: 'token' },
            secretToken: { name: 'gitlab', key: 'token' },
            gitlabBaseURL: 'http://127.0.0.1:1',
            projects: [],
          },
        },
      }),
    );
    store.put(
      eventSource('stripe', {
        stripe: {
          payments: {
            webhook: { port: String(ports['stripe']), endpoint: '/stripe', method: 'POST' },
            eventFilter: ['payment_intent.succeeded'],
            webhookSecret: { name: 'stripe', key: 'whsec' },
            metadata: { env: 'test' },
          },
        },
      }),
    );
    store.put(
      eventSource('slack', {
        slack: {
          app: {
            webhook: { port: String(ports['slack']), endpoint: '/slack', method: 'POST' },
            signingSecret: { name: 'slack', key: 'signing' },
            token: { name: 'slack', key: 'missing', optional: true },
          },
        },
      }),
    );
    store.put(
      eventSource('bbs', {
        bitbucketserver: {
          refs: {
            webhook: { port: String(ports['bbs']), endpoint: '/bbs', method: 'POST' },
            bitbucketserverBaseURL: 'http://127.0.0.1:1/rest',
            webhookSecret: { name: 'bbs', key: 'secret' },
            oneEventPerChange: true,
            events: ['repo:refs_changed'],
          },
        },
      }),
    );
    const env = { ...secretEnv(SECRETS), ...secretEnv({ tls: { crt: TEST_CERT, key: TEST_KEY } }) };
    await run(webhookSource, { env });
    await run(githubSource);
    await run(gitlabSource);
    await run(stripeSource);
    await run(slackSource);
    await run(bitbucketServerSource);
  });

  after(async () => {
    for (const r of runners) await r.close();
    await bus?.stop();
    await github?.stop();
  });

  describe('webhook', () => {
    it('publishes {header, body, metadata} for JSON, answering 200 only after the bus acknowledged', async () => {
      const res = await post(ports['webhook']!, '/example', JSON.stringify({ message: 'hello' }), {
        'X-Custom': 'a',
      });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'success');
      const got = await waitFor(
        () => bus.from('webhook').find((r) => r.event.subject === 'example'),
        { what: 'the webhook event' },
      );
      assert.equal(got.event.type, 'webhook');
      assert.equal(got.key, 'webhook.example');
      assert.match(got.event.id, /^[0-9a-f]{32}$/);
      const data = got.data as {
        header: Record<string, string[]>;
        body: unknown;
        metadata: unknown;
      };
      assert.deepEqual(data.body, { message: 'hello' });
      assert.deepEqual(data.metadata, { team: 'sre' });
      assert.deepEqual(data.header['X-Custom'], ['a']);
      assert.deepEqual(data.header['Content-Type'], ['application/json']);
    });

    it('GET puts the query map in body; form posts the form map; text stays text', async () => {
      assert.equal(
        (await post(ports['webhook']!, '/query?a=1&a=2&b=x', '', {}, 'GET')).status,
        200,
      );
      const q = await waitFor(() => bus.from('webhook').find((r) => r.event.subject === 'query'));
      assert.deepEqual((q.data as { body: unknown }).body, { a: ['1', '2'], b: ['x'] });
      assert.equal(
        (
          await post(
            ports['webhook']!,
            '/put',
            'plain words',
            { 'Content-Type': 'text/plain' },
            'PUT',
          )
        ).status,
        200,
      );
      const t = await waitFor(() => bus.from('webhook').find((r) => r.event.subject === 'put'));
      assert.equal((t.data as { body: unknown }).body, 'plain words');
      assert.equal(
        (
          await post(ports['webhook']!, '/example', 'k=v&k=w', {
            'Content-Type': 'application/x-www-form-urlencoded',
          })
        ).status,
        200,
      );
      await waitFor(
        () =>
          bus
            .from('webhook')
            .some((r) => JSON.stringify((r.data as { body: unknown }).body) === '{"k":["v","w"]}'),
        { what: 'the form event' },
      );
    });

    it('rejects malformed JSON (400), a wrong method (405), an oversized body (413) and an unknown path (404), publishing nothing', async () => {
      const before = bus.from('webhook').length;
      const bad = await post(ports['webhook']!, '/small', '{"broken":');
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /not valid JSON/);
      assert.equal((await post(ports['webhook']!, '/small', '{}', {}, 'PUT')).status, 405);
      assert.equal(
        (await post(ports['webhook']!, '/small', JSON.stringify({ pad: 'x'.repeat(200) }))).status,
        413,
      );
      assert.equal((await post(ports['webhook']!, '/nowhere', '{}')).status, 404);
      assert.equal((await post(ports['webhook']!, '/small', '{"ok":true}')).status, 200);
      await waitFor(() => bus.from('webhook').some((r) => r.event.subject === 'small'));
      const small = bus
        .from('webhook')
        .slice(before)
        .filter((r) => r.event.subject === 'small');
      assert.deepEqual(
        small.map((r) => (r.data as { body: unknown }).body),
        [{ ok: true }],
      );
    });

    /** The body as Argo's webhook (`GetBody`) reads it, and where Ganglion goes beyond it (listed in docs/argo-differences.md). */
    const bodies: [
      name: string,
      contentType: string,
      body: string | Buffer,
      status: number,
      want?: unknown,
    ][] = [
      [
        'a POST body is parsed as JSON whatever its Content-Type (text/plain)',
        'text/plain',
        '{"a":1}',
        200,
        { a: 1 },
      ],
      [
        'a POST body is parsed as JSON whatever its Content-Type (application/octet-stream)',
        'application/octet-stream',
        '[1,2]',
        200,
        [1, 2],
      ],
      [
        'a JSON content type with a body that is not JSON is a 400, as in Argo',
        'application/json',
        'nope',
        400,
      ],
      [
        'beyond Argo (a 400 there): a text body that is not JSON stays text',
        'text/plain',
        'hello',
        200,
        'hello',
      ],
      [
        "beyond Argo (a 400 there): a binary body that is not JSON is base64, as Go's []byte",
        'application/octet-stream',
        Buffer.from([0xff, 0x00, 0x01]),
        200,
        '/wAB',
      ],
    ];
    for (const [name, contentType, body, status, want] of bodies)
      it(`${name}; metadata is omitted when empty (Go's omitempty)`, async () => {
        const seen = bus.from('webhook').filter((r) => r.event.subject === 'anytype').length;
        const res = await post(ports['webhook']!, '/anytype', body, {
          'Content-Type': contentType,
        });
        assert.equal(res.status, status, await res.text());
        if (status !== 200) return;
        const got = await waitFor(
          () => bus.from('webhook').filter((r) => r.event.subject === 'anytype')[seen],
          { what: 'the anytype event' },
        );
        const data = got.data as Record<string, unknown>;
        assert.deepEqual(data['body'], want);
        assert.ok(!('metadata' in data), `no metadata key in ${JSON.stringify(data)}`);
      });

    it('answers /health on every port', async () => {
      for (const port of [ports['webhook']!, ports['auth']!]) {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), 'OK');
      }
    });

    it('filter.expression drops what it rejects (Alertmanager: only critical firing alerts)', async () => {
      const resolved = { ...ALERTMANAGER_FIRING, status: 'resolved' };
      assert.equal(
        (await post(ports['webhook']!, '/alerts', JSON.stringify(resolved))).status,
        200,
      );
      assert.equal(
        (await post(ports['webhook']!, '/alerts', JSON.stringify(ALERTMANAGER_FIRING))).status,
        200,
      );
      const got = await waitFor(() =>
        bus.from('webhook').find((r) => r.event.subject === 'alerts'),
      );
      assert.equal((got.data as { body: { status: string } }).body.status, 'firing');
      assert.equal(bus.from('webhook').filter((r) => r.event.subject === 'alerts').length, 1);
    });

    it("keeps an incoming CloudEvent's id, source, type and traceparent", async () => {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const res = await post(ports['webhook']!, '/example', JSON.stringify({ ce: true }), {
        'ce-id': 'order-42-created',
        'ce-source': '/shop/orders',
        'ce-type': 'com.example.order.created',
        'ce-specversion': '1.0',
        traceparent,
      });
      assert.equal(res.status, 200);
      const got = await waitFor(() =>
        bus.from('webhook').find((r) => r.event.id === 'order-42-created'),
      );
      assert.equal(got.event['originsource'], '/shop/orders');
      assert.equal(got.event['origintype'], 'com.example.order.created');
      assert.equal(got.event['traceparent'], traceparent);
      assert.equal(got.event.type, 'webhook');
      assert.equal(got.event.source, 'webhook');
    });

    it('bearer authSecret: 401 without or with a wrong token, the header masked when right', async () => {
      assert.equal((await post(ports['auth']!, '/secured', '{"n":1}')).status, 401);
      assert.equal(
        (await post(ports['auth']!, '/secured', '{"n":2}', { Authorization: 'Bearer wrong' }))
          .status,
        401,
      );
      assert.equal(
        (
          await post(ports['auth']!, '/secured', '{"n":3}', {
            Authorization: `Bearer ${SECRETS.bearer.token}`,
          })
        ).status,
        200,
      );
      const got = await waitFor(() => bus.from('auth')[0]);
      const data = got.data as { header: Record<string, string[]>; body: unknown };
      assert.deepEqual(data.header['Authorization'], [MASKED_AUTH]);
      assert.deepEqual(data.body, { n: 3 });
      assert.equal(bus.from('auth').length, 1);
    });

    it('serves HTTPS from serverCertSecret/serverKeySecret', async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: ports['tls'],
            path: '/tls',
            method: 'POST',
            ca: TEST_CERT,
            headers: { 'Content-Type': 'application/json' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end('{"secure":true}');
      });
      assert.equal(status, 200);
      await waitFor(() => bus.from('tls')[0]);
      await assert.rejects(
        fetch(`http://127.0.0.1:${ports['tls']}/tls`, { method: 'POST', body: '{}' }),
      );
    });

    it('limits requests per route (ganglion.io/rate-limit) with 429 + Retry-After', async () => {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 6; i++) {
        const res = await post(ports['limited']!, '/limited', JSON.stringify({ i }));
        statuses.push(res.status);
        if (res.status === 429) retryAfter = res.headers.get('retry-after');
      }
      assert.ok(statuses.includes(429), `statuses ${statuses.join(',')}`);
      assert.ok(statuses.filter((s) => s === 200).length >= 2);
      assert.equal(retryAfter, '1');
    });
  });

  describe('github', () => {
    const sign = (algo: 'sha1' | 'sha256', body: string, secret = SECRETS.github.secret): string =>
      `${algo}=${createHmac(algo, secret).update(body).digest('hex')}`;

    it('registered its repository hook through the API at githubBaseURL', async () => {
      const created = await waitFor(
        () => github.hooks.get('/api/v3/repos/Codertocat/Hello-World/hooks'),
        { what: 'hook creation' },
      );
      assert.equal(created.config.url, 'https://hooks.example.com/push');
      assert.equal(created.config.secret, SECRETS.github.secret);
      assert.deepEqual(created.events, ['push', 'pull_request']);
      assert.equal(github.authorization, `Bearer ${SECRETS.github.token}`);
    });

    it("accepts a signed push (sha256) with Argo's data shape and a delivery-derived id", async () => {
      const body = JSON.stringify(GITHUB_PUSH);
      const delivery = '72d3162e-cc78-11e3-81ab-4c9367dc0958';
      const res = await post(ports['github']!, '/push', body, {
        'X-GitHub-Event': 'push',
        'X-GitHub-Delivery': delivery,
        'X-Hub-Signature-256': sign('sha256', body),
      });
      assert.equal(res.status, 200);
      const got = await waitFor(() =>
        bus
          .from('github')
          .find(
            (r) => (r.data as { body: Record<string, unknown> }).body['X-GitHub-Event'] === 'push',
          ),
      );
      assert.equal(got.event.id, naturalEventId('default', 'github', 'repo', delivery));
      const data = got.data as {
        headers: Record<string, string[]>;
        body: Record<string, unknown>;
        metadata: unknown;
      };
      assert.equal(data.body['X-GitHub-Delivery'], delivery);
      assert.equal(data.body['ref'], 'refs/heads/main');
      assert.deepEqual(data.headers['X-Github-Event'], ['push']);
      assert.ok(!('metadata' in data), 'metadata omitted when empty (omitempty)');
    });

    it('accepts pull_request signed with sha1 only', async () => {
      const body = JSON.stringify(GITHUB_PULL_REQUEST);
      const res = await post(ports['github']!, '/push', body, {
        'X-GitHub-Event': 'pull_request',
        'X-GitHub-Delivery': 'd-pr-1',
        'X-Hub-Signature': sign('sha1', body),
      });
      assert.equal(res.status, 200);
      const got = await waitFor(() =>
        bus
          .from('github')
          .find(
            (r) =>
              (r.data as { body: Record<string, unknown> }).body['X-GitHub-Event'] ===
              'pull_request',
          ),
      );
      assert.equal((got.data as { body: { action: string } }).body.action, 'opened');
    });

    it('rejects wrong, missing and malformed signatures with 401; ignores other repositories; publishes none of them', async () => {
      const body = JSON.stringify({ ...GITHUB_PUSH, ref: 'refs/heads/evil' });
      const h = { 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': 'd-bad' };
      assert.equal(
        (
          await post(ports['github']!, '/push', body, {
            ...h,
            'X-Hub-Signature-256': sign('sha256', body, 'wrong'),
          })
        ).status,
        401,
      );
      assert.equal((await post(ports['github']!, '/push', body, h)).status, 401);
      assert.equal(
        (await post(ports['github']!, '/push', body, { ...h, 'X-Hub-Signature-256': 'sha256=' }))
          .status,
        401,
      );
      assert.equal(
        (await post(ports['github']!, '/push', body, { ...h, 'X-Hub-Signature-256': 'x' })).status,
        401,
      );
      const other = JSON.stringify({
        ...GITHUB_PUSH,
        repository: {
          ...GITHUB_PUSH.repository,
          full_name: 'someone/else',
          owner: { login: 'someone' },
        },
      });
      assert.equal(
        (
          await post(ports['github']!, '/push', other, {
            'X-GitHub-Event': 'push',
            'X-GitHub-Delivery': 'd-other',
            'X-Hub-Signature-256': sign('sha256', other),
          })
        ).status,
        200,
      );
      const good = JSON.stringify({ ...GITHUB_PUSH, ref: 'refs/heads/after-bad' });
      assert.equal(
        (
          await post(ports['github']!, '/push', good, {
            'X-GitHub-Event': 'push',
            'X-GitHub-Delivery': 'd-good',
            'X-Hub-Signature-256': sign('sha256', good),
          })
        ).status,
        200,
      );
      await waitFor(() =>
        bus
          .from('github')
          .some((r) => (r.data as { body: { ref?: string } }).body.ref === 'refs/heads/after-bad'),
      );
      const refs = bus
        .from('github')
        .map((r) => (r.data as { body: { ref?: string; 'X-GitHub-Delivery': string } }).body);
      assert.ok(!refs.some((b) => b.ref === 'refs/heads/evil'));
      assert.ok(!refs.some((b) => ['d-other'].includes(b['X-GitHub-Delivery'])));
    });

    /** Argo's github source: `events` only shapes the registered hook; the event header is read with Go's Header.Get. */
    const deliveries: [name: string, headers: Record<string, string>, wantEvent: string][] = [
      [
        'a delivery whose event type is missing from events is published, not dropped (Argo uses events only to register the hook)',
        { 'X-GitHub-Event': 'issues', 'X-GitHub-Delivery': 'd-issue' },
        'issues',
      ],
      [
        'a delivery without X-GitHub-Event is accepted with the key set to ""',
        { 'X-GitHub-Delivery': 'd-no-event' },
        '',
      ],
    ];
    for (const [name, headers, wantEvent] of deliveries)
      it(name, async () => {
        const issue = JSON.stringify({
          action: 'opened',
          issue: { number: 1 },
          repository: GITHUB_PUSH.repository,
        });
        const res = await post(ports['github']!, '/push', issue, {
          ...headers,
          'X-Hub-Signature-256': sign('sha256', issue),
        });
        assert.equal(res.status, 200, await res.text());
        const got = await waitFor(
          () =>
            bus
              .from('github')
              .find(
                (r) =>
                  (r.data as { body: Record<string, unknown> }).body['X-GitHub-Delivery'] ===
                  headers['X-GitHub-Delivery'],
              ),
          { what: name },
        );
        assert.equal(
          (got.data as { body: Record<string, unknown> }).body['X-GitHub-Event'],
          wantEvent,
        );
      });
  });

  it('gitlab: secret token checked, push published as {headers, body, metadata} with the event UUID as id', async () => {
    const body = JSON.stringify(GITLAB_PUSH);
    assert.equal(
      (
        await post(ports['gitlab']!, '/gitlab', body, {
          'X-Gitlab-Event': 'Push Hook',
          'X-Gitlab-Token': 'nope',
        })
      ).status,
      401,
    );
    assert.equal(
      (await post(ports['gitlab']!, '/gitlab', body, { 'X-Gitlab-Event': 'Push Hook' })).status,
      401,
    );
    const ignored = await post(ports['gitlab']!, '/gitlab', '{"object_kind":"issue"}', {
      'X-Gitlab-Event': 'Issue Hook',
      'X-Gitlab-Token': SECRETS.gitlab.token,
    });
    assert.equal(ignored.status, 200);
    const uuid = '5ea1a2c4-2c47-4b5e-9a3a-0d1fb0c6b2a1';
    const res = await post(ports['gitlab']!, '/gitlab', body, {
      'X-Gitlab-Event': 'Push Hook',
      'X-Gitlab-Token': SECRETS.gitlab.token,
      'X-Gitlab-Event-UUID': uuid,
    });
    assert.equal(res.status, 200);
    const got = await waitFor(() => bus.from('gitlab')[0]);
    assert.equal(bus.from('gitlab').length, 1);
    assert.equal(got.event.id, naturalEventId('default', 'gitlab', 'push', uuid));
    const data = got.data as { headers: Record<string, string[]>; body: typeof GITLAB_PUSH };
    assert.equal(data.body.project.path_with_namespace, 'mike/diaspora');
    assert.deepEqual(data.headers['X-Gitlab-Event'], ['Push Hook']);
    assert.deepEqual(data.headers['X-Gitlab-Token'], [MASKED_AUTH], 'the secret token is masked');
  });

  it('stripe: Stripe-Signature verified (wrong, stale, missing → 401), eventFilter applied, {event, metadata} published', async () => {
    const stripeSig = (
      body: string,
      t = Math.floor(Date.now() / 1000),
      secret = SECRETS.stripe.whsec,
    ): string =>
      `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39`;
    const ok = JSON.stringify(STRIPE_PAYMENT_SUCCEEDED);
    assert.equal(
      (
        await post(ports['stripe']!, '/stripe', ok, {
          'Stripe-Signature': stripeSig(ok, undefined, 'whsec_other'),
        })
      ).status,
      401,
    );
    assert.equal(
      (
        await post(ports['stripe']!, '/stripe', ok, {
          'Stripe-Signature': stripeSig(ok, Math.floor(Date.now() / 1000) - 3600),
        })
      ).status,
      401,
    );
    assert.equal((await post(ports['stripe']!, '/stripe', ok)).status, 401);
    const refunded = JSON.stringify(STRIPE_CHARGE_REFUNDED);
    assert.equal(
      (
        await post(ports['stripe']!, '/stripe', refunded, {
          'Stripe-Signature': stripeSig(refunded),
        })
      ).status,
      200,
    );
    assert.equal(
      (await post(ports['stripe']!, '/stripe', ok, { 'Stripe-Signature': stripeSig(ok) })).status,
      200,
    );
    const got = await waitFor(() => bus.from('stripe')[0]);
    assert.equal(bus.from('stripe').length, 1);
    assert.equal(
      got.event.id,
      naturalEventId('default', 'stripe', 'payments', STRIPE_PAYMENT_SUCCEEDED.id),
    );
    assert.deepEqual(got.data, { event: STRIPE_PAYMENT_SUCCEEDED, metadata: { env: 'test' } });
  });

  const slackSign = (body: string, ts = Math.floor(Date.now() / 1000)): Record<string, string> => ({
    'X-Slack-Request-Timestamp': String(ts),
    'X-Slack-Signature': `v0=${createHmac('sha256', SECRETS.slack.signing).update(`v0:${ts}:${body}`).digest('hex')}`,
  });

  it('slack: signed requests only; URL verification answered; event_callback publishes the inner event', async () => {
    const sign = slackSign;
    const challenge = JSON.stringify({
      token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    });
    const res = await post(ports['slack']!, '/slack', challenge, sign(challenge));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P');
    const cb = JSON.stringify({
      token: 'x',
      team_id: 'T061EG9R6',
      type: 'event_callback',
      event_id: 'Ev0PV52K21',
      event: {
        type: 'app_mention',
        user: 'U061F7AUR',
        text: '<@U0LAN0Z89> deploy',
        channel: 'C0LAN2Q65',
      },
    });
    assert.equal(
      (await post(ports['slack']!, '/slack', cb, { ...sign(cb), 'X-Slack-Signature': 'v0=00' }))
        .status,
      401,
    );
    assert.equal(
      (await post(ports['slack']!, '/slack', cb, sign(cb, Math.floor(Date.now() / 1000) - 900)))
        .status,
      401,
    );
    assert.equal((await post(ports['slack']!, '/slack', cb, sign(cb))).status, 200);
    const got = await waitFor(() => bus.from('slack')[0]);
    assert.equal(bus.from('slack').length, 1);
    assert.deepEqual(got.data, {
      type: 'app_mention',
      user: 'U061F7AUR',
      text: '<@U0LAN0Z89> deploy',
      channel: 'C0LAN2Q65',
    });
  });

  it('masks credentials in event data: Slack verification tokens, Authorization and cookies on any route', async () => {
    const form = 'command=%2Fdeploy&text=prod&token=Jhj5dZrVaK7ZwHHjRyZWjbDl&team_id=T0001';
    const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
    assert.equal(
      (await post(ports['slack']!, '/slack', form, { ...headers, ...slackSign(form) })).status,
      200,
    );
    const payload = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl' }))}`;
    assert.equal(
      (await post(ports['slack']!, '/slack', payload, { ...headers, ...slackSign(payload) }))
        .status,
      200,
    );
    const [command, action] = await waitFor(() => {
      const got = bus
        .from('slack')
        .filter((r) => (r.data as { token?: string }).token !== undefined);
      return got.length >= 2 ? got : undefined;
    });
    assert.equal((command!.data as Record<string, string>)['text'], 'prod');
    for (const r of [command!, action!]) {
      assert.equal((r.data as { token: string }).token, MASKED_AUTH);
      assert.ok(!JSON.stringify(r.data).includes('Jhj5dZrVaK7ZwHHjRyZWjbDl'));
    }
    const res = await post(ports['webhook']!, '/example', '{"masked":true}', {
      Authorization: 'Basic dXNlcjpwYXNz',
      Cookie: 'session=abc',
      'X-Hub-Signature-256': 'sha256=00',
    });
    assert.equal(res.status, 200);
    const got = await waitFor(() =>
      bus.from('webhook').find((r) => JSON.stringify(r.data).includes('"masked":true')),
    );
    assert.equal(
      got.event['namespace'],
      'default',
      "the EventSource's namespace travels with the event",
    );
    const header = (got.data as { header: Record<string, string[]> }).header;
    assert.deepEqual(header['Authorization'], [MASKED_AUTH]);
    assert.deepEqual(header['Cookie'], [MASKED_AUTH]);
    assert.deepEqual(header['X-Hub-Signature-256'], ['sha256=00'], 'signatures are kept');
  });

  it('bitbucketserver: HMAC checked (short header is a 401, not a crash), oneEventPerChange splits refs_changed', async () => {
    const body = JSON.stringify(BITBUCKET_SERVER_REFS_CHANGED);
    const sig = `sha256=${createHmac('sha256', SECRETS.bbs.secret).update(body).digest('hex')}`;
    assert.equal(
      (
        await post(ports['bbs']!, '/bbs', body, {
          'X-Event-Key': 'repo:refs_changed',
          'X-Hub-Signature': 'sha',
        })
      ).status,
      401,
    );
    assert.equal(
      (
        await post(ports['bbs']!, '/bbs', body, {
          'X-Event-Key': 'repo:refs_changed',
          'X-Request-Id': 'r-1',
          'X-Hub-Signature': sig,
        })
      ).status,
      200,
    );
    const got = await waitFor(() => (bus.from('bbs').length >= 2 ? bus.from('bbs') : undefined));
    assert.equal(got.length, 2);
    assert.deepEqual(
      got.map((r) =>
        (r.data as { body: typeof BITBUCKET_SERVER_REFS_CHANGED }).body.changes.map((c) => c.refId),
      ),
      [['refs/heads/master'], ['refs/heads/feature']],
    );
    assert.notEqual(got[0]!.event.id, got[1]!.event.id);
  });

  it('answers 503 with Retry-After when the broker is down, and nothing is acknowledged', async () => {
    const deadPort = await freePort();
    const logger = createLogger('dead', { level: 'error' });
    const dead = new BusClients({ brokers: [`127.0.0.1:${deadPort}`], clientId: 'dead', logger });
    const deadStore = new MemoryStore();
    const port = await freePort();
    deadStore.put(bus.bus());
    deadStore.put(
      eventSource('down', {
        webhook: { e: { port: String(port), endpoint: '/down', method: 'POST' } },
      }),
    );
    const r = await startRunner(webhookSource, deadStore, dead);
    try {
      const res = await post(port, '/down', '{"lost":false}');
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '1');
      const text = await res.text();
      assert.match(text, /not recorded/);
      assert.doesNotMatch(
        text,
        new RegExp(`127\\.0\\.0\\.1|${deadPort}|ECONNREFUSED`),
        'no broker address',
      );
    } finally {
      await r.close();
    }
  });

  it('keeps the GitHub hook when a replica stops; deletes it (deleteHookOnFinish) when the EventSource is deleted', async () => {
    const gh = runners[1]!;
    store.remove('EventSource', 'github');
    await waitFor(
      () =>
        github.deleted.some((p) =>
          /\/api\/v3\/repos\/Codertocat\/Hello-World\/hooks\/\d+$/.test(p),
        ),
      { what: `hook deletion (deleted: ${github.deleted.join(', ')})` },
    );
    const deleted = github.deleted.length;
    store.put(
      eventSource('github2', {
        github: {
          again: {
            webhook: {
              port: String(ports['github']),
              endpoint: '/again',
              method: 'POST',
              url: 'https://hooks.example.com/again',
            },
            organizations: ['acme'],
            apiToken: { name: 'github', key: 'token' },
            githubBaseURL: `http://127.0.0.1:${github.port}/api/v3/`,
            deleteHookOnFinish: true,
          },
        },
      }),
    );
    await waitFor(() => github.hooks.get('/api/v3/orgs/acme/hooks'), {
      what: 'the organization hook',
    });
    await gh.close();
    runners.splice(1, 1);
    assert.equal(github.deleted.length, deleted, 'stopping a replica removed no hook');
  });
});

interface HookSpec {
  name: string;
  events: string[];
  config: { url: string; secret?: string };
}

/** A local server speaking the part of the GitHub REST API that hook registration uses. */
class GithubApiStub {
  readonly hooks = new Map<string, HookSpec & { id: number }>();
  readonly deleted: string[] = [];
  authorization: string | undefined;
  port = 0;
  private server: Server | undefined;

  async start(): Promise<this> {
    this.port = await freePort();
    this.server = createServer(
      withBody((req, res, raw) => {
        this.authorization = req.headers.authorization;
        const path = (req.url ?? '').split('?')[0]!;
        const json = (status: number, v: unknown): void =>
          void res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(v));
        if (req.method === 'GET' && path.endsWith('/hooks'))
          return json(200, this.hooks.has(path) ? [this.hooks.get(path)] : []);
        if (req.method === 'POST' && path.endsWith('/hooks')) {
          const hook = {
            ...(JSON.parse(raw.toString('utf8')) as HookSpec),
            id: 1000 + this.hooks.size,
          };
          this.hooks.set(path, hook);
          return json(201, hook);
        }
        if (req.method === 'DELETE') {
          this.deleted.push(path);
          return void res.writeHead(204).end();
        }
        json(404, { message: 'Not Found' });
      }),
    );
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
