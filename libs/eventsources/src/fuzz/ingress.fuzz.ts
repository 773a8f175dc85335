import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { TopicReader } from '@ganglion/eventbus';
import { freePort, fuzzSeed, kafkaBrokers, Prng, uniquePrefix, waitFor } from '@ganglion/testing';
import {
  BusFixture,
  eventSource,
  MemoryStore,
  secretEnv,
  startRunner,
  type RunnerFixture,
} from '../kit/push-harness.test-support.js';
import type { PushSource } from '../kit/push-source.js';
import { bitbucketSource } from '../bitbucket/bitbucket.source.js';
import { bitbucketServerSource } from '../bitbucketserver/bitbucketserver.source.js';
import { gerritSource } from '../gerrit/gerrit.source.js';
import { githubSource } from '../github/github.source.js';
import { gitlabSource } from '../gitlab/gitlab.source.js';
import { slackSource } from '../slack/slack.source.js';
import { snsSource } from '../sns/sns.source.js';
import { storageGridSource } from '../storagegrid/storagegrid.source.js';
import { stripeSource } from '../stripe/stripe.source.js';
import { webhookSource } from '../webhook/webhook.source.js';

/** Requests per run over all types (`GANGLION_FUZZ_REQUESTS`, default 100 000). */
const TOTAL = Number(process.env['GANGLION_FUZZ_REQUESTS'] ?? 100_000);
/** Requests in flight at once. */
const CONCURRENCY = 48;
/** A request not answered within this long is a hang (the deadline answers 503 after 2 s). */
const HANG_MS = 15_000;

const SECRETS = {
  gh: { secret: 'fuzz-gh-secret' },
  gl: { token: 'fuzz-gl-token' },
  bbs: { secret: 'fuzz-bbs-secret' },
  slack: { signing: 'fuzz-slack-signing' },
  stripe: { whsec: 'whsec_fuzz' },
};

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** The marker a published event carries (requests built to be accepted). */
  marker?: string;
}

/** One type: its source, its EventSource spec on `port`, and a well-formed request carrying `marker`. */
interface TypeCase {
  name: string;
  source: PushSource<never>;
  spec(port: number): Record<string, unknown>;
  valid(marker: string, rng: Prng): Req;
}

const hmacHex = (algo: string, key: string, ...parts: (string | Buffer)[]): string => {
  const h = createHmac(algo, key);
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const route = (port: number) => ({ port: String(port), endpoint: '/fz', method: 'POST' });
const JSON_CT = { 'Content-Type': 'application/json' };

const CASES: TypeCase[] = [
  {
    name: 'webhook',
    source: webhookSource as PushSource<never>,
    spec: (port) => ({ webhook: { fz: route(port) } }),
    valid: (marker, rng) => ({
      method: 'POST',
      path: '/fz',
      headers: JSON_CT,
      body: json({ marker, data: rng.json() }),
      marker,
    }),
  },
  {
    name: 'github',
    source: githubSource as PushSource<never>,
    spec: (port) => ({
      github: { fz: { webhook: route(port), webhookSecret: { name: 'gh', key: 'secret' } } },
    }),
    valid: (marker, rng) => {
      const body = json({ marker, ref: 'refs/heads/main', data: rng.json() });
      return {
        method: 'POST',
        path: '/fz',
        headers: {
          ...JSON_CT,
          'X-GitHub-Event': 'push',
          'X-GitHub-Delivery': randomUUID(),
          'X-Hub-Signature-256': `sha256=${hmacHex('sha256', SECRETS.gh.secret, body)}`,
        },
        body,
        marker,
      };
    },
  },
  {
    name: 'gitlab',
    source: gitlabSource as PushSource<never>,
    spec: (port) => ({
      gitlab: {
        fz: {
          webhook: route(port),
          events: ['PushEvents'],
          secretToken: { name: 'gl', key: 'token' },
          projects: [],
        },
      },
    }),
    valid: (marker, rng) => ({
      method: 'POST',
      path: '/fz',
      headers: {
        ...JSON_CT,
        'X-Gitlab-Event': 'Push Hook',
        'X-Gitlab-Token': SECRETS.gl.token,
      },
      body: json({ object_kind: 'push', marker, data: rng.json() }),
      marker,
    }),
  },
  {
    name: 'bitbucket',
    source: bitbucketSource as PushSource<never>,
    spec: (port) => ({
      bitbucket: { fz: { webhook: route(port), events: ['repo:push'], repositories: [] } },
    }),
    valid: (marker, rng) => ({
      method: 'POST',
      path: '/fz',
      headers: { ...JSON_CT, 'X-Event-Key': 'repo:push', 'X-Request-UUID': randomUUID() },
      body: json({ marker, push: { changes: [] }, data: rng.json() }),
      marker,
    }),
  },
  {
    name: 'bitbucketserver',
    source: bitbucketServerSource as PushSource<never>,
    spec: (port) => ({
      bitbucketserver: {
        fz: {
          webhook: route(port),
          events: ['repo:refs_changed'],
          webhookSecret: { name: 'bbs', key: 'secret' },
          bitbucketserverBaseURL: 'http://127.0.0.1:1/rest',
        },
      },
    }),
    valid: (marker, rng) => {
      const body = json({ eventKey: 'repo:refs_changed', marker, changes: [rng.json(1)] });
      return {
        method: 'POST',
        path: '/fz',
        headers: {
          ...JSON_CT,
          'X-Event-Key': 'repo:refs_changed',
          'X-Request-Id': randomUUID(),
          'X-Hub-Signature': `sha256=${hmacHex('sha256', SECRETS.bbs.secret, body)}`,
        },
        body,
        marker,
      };
    },
  },
  {
    name: 'gerrit',
    source: gerritSource as PushSource<never>,
    spec: (port) => ({
      gerrit: {
        fz: {
          webhook: route(port),
          events: ['patchset-created'],
          hookName: 'fz',
          projects: [],
          gerritBaseURL: 'http://127.0.0.1:1',
        },
      },
    }),
    valid: (marker, rng) => ({
      method: 'POST',
      path: '/fz',
      headers: JSON_CT,
      body: json({ type: 'patchset-created', marker, data: rng.json() }),
      marker,
    }),
  },
  {
    name: 'slack',
    source: slackSource as PushSource<never>,
    spec: (port) => ({
      slack: { fz: { webhook: route(port), signingSecret: { name: 'slack', key: 'signing' } } },
    }),
    valid: (marker, rng) => {
      const body = json({
        type: 'event_callback',
        event_id: `Ev${marker}`,
        event: { type: 'message', text: marker, data: rng.json() },
      });
      const ts = String(Math.floor(Date.now() / 1000));
      return {
        method: 'POST',
        path: '/fz',
        headers: {
          ...JSON_CT,
          'X-Slack-Request-Timestamp': ts,
          'X-Slack-Signature': `v0=${hmacHex('sha256', SECRETS.slack.signing, `v0:${ts}:`, body)}`,
        },
        body,
        marker,
      };
    },
  },
  {
    name: 'stripe',
    source: stripeSource as PushSource<never>,
    spec: (port) => ({
      stripe: { fz: { webhook: route(port), webhookSecret: { name: 'stripe', key: 'whsec' } } },
    }),
    valid: (marker, rng) => {
      const body = json({
        id: `evt_${marker}`,
        type: 'payment_intent.succeeded',
        data: { object: { marker, data: rng.json() } },
      });
      const t = Math.floor(Date.now() / 1000);
      return {
        method: 'POST',
        path: '/fz',
        headers: {
          ...JSON_CT,
          'Stripe-Signature': `t=${t},v1=${hmacHex('sha256', SECRETS.stripe.whsec, `${t}.`, body)}`,
        },
        body,
        marker,
      };
    },
  },
  {
    name: 'sns',
    source: snsSource as PushSource<never>,
    spec: (port) => ({
      sns: { fz: { webhook: route(port), topicArn: 'arn:aws:sns:us-east-1:1:fz' } },
    }),
    valid: (marker, rng) => ({
      method: 'POST',
      path: '/fz',
      headers: { 'Content-Type': 'text/plain; charset=UTF-8' },
      // Now and then a subscription confirmation: its SubscribeURL is called (answered locally).
      body: json({
        ...(rng.chance(0.05)
          ? {
              Type: 'SubscriptionConfirmation',
              SubscribeURL: `http://127.0.0.1:1/confirm?${rng.chance(0.5) ? 'fail' : 'refuse'}`,
            }
          : { Type: 'Notification' }),
        MessageId: marker,
        TopicArn: 'arn:aws:sns:us-east-1:1:fz',
        Message: JSON.stringify({ marker, data: rng.json() }),
        Timestamp: new Date().toISOString(),
      }),
      marker,
    }),
  },
  {
    name: 'storageGrid',
    source: storageGridSource as PushSource<never>,
    spec: (port) => ({ storageGrid: { fz: { webhook: route(port), events: [] } } }),
    valid: (marker, rng) => ({
      method: 'POST',
      path: '/fz',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(
        new URLSearchParams({
          Action: 'Publish',
          Message: JSON.stringify({
            Records: [
              {
                eventName: 'ObjectCreated:Put',
                s3: { object: { key: `fz/${marker}` } },
                data: rng.json(),
              },
            ],
          }),
        }).toString(),
      ),
      marker,
    }),
  },
];

/** The kinds of requests generated, each a mutation of a well-formed one. */
const MUTATIONS = [
  'valid',
  'malformed-json',
  'wrong-content-type',
  'huge-header',
  'bad-signature',
  'truncated-body',
  'random-body',
  'wrong-method',
  'unknown-path',
  'deep-json',
  'header-noise',
] as const;
type Mutation = (typeof MUTATIONS)[number] | 'slow-sender' | 'aborted-body' | 'oversized-body';

function mutate(kind: Mutation, req: Req, rng: Prng): Req {
  const { marker: _marker, ...base } = req;
  switch (kind) {
    case 'valid':
      return req;
    case 'malformed-json':
      return { ...base, body: Buffer.from(rng.mutate(req.body.toString())) };
    case 'wrong-content-type':
      return {
        ...req,
        headers: {
          ...req.headers,
          'Content-Type': rng.pick([
            'text/html',
            'application/octet-stream',
            'multipart/form-data; boundary=x',
            'application/x-www-form-urlencoded',
            '',
            'application/json; charset=utf-16',
            rng.string(12).replace(/[^\x20-\x7e]/g, ''),
          ]),
        },
      };
    case 'huge-header':
      return { ...req, headers: { ...req.headers, 'X-Pad': 'p'.repeat(8_000 + rng.int(24_000)) } };
    case 'bad-signature': {
      const headers = { ...req.headers };
      for (const h of [
        'X-Hub-Signature-256',
        'X-Hub-Signature',
        'X-Gitlab-Token',
        'X-Slack-Signature',
        'Stripe-Signature',
      ])
        if (h in headers)
          headers[h] = rng.chance(0.3) ? '' : rng.mutate(headers[h]!).replace(/[^\x20-\x7e]/g, '');
      if ('X-Slack-Request-Timestamp' in headers && rng.chance(0.3))
        headers['X-Slack-Request-Timestamp'] = rng.pick(['0', '-1', 'abc', '99999999999999']);
      return { ...base, headers };
    }
    case 'truncated-body':
      return { ...base, body: req.body.subarray(0, rng.int(req.body.length)) };
    case 'random-body':
      return { ...base, body: Buffer.from(rng.string(rng.int(400))) };
    case 'wrong-method':
      return { ...base, method: rng.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) };
    case 'unknown-path':
      return {
        ...base,
        path: rng
          .pick(['/', '/fz/x', '/FZ', '/fz?x=%zz', '/%2e%2e/fz', `/${rng.string(5)}`])
          .replace(/[^\x21-\x7e]/g, 'x'),
      };
    case 'deep-json': {
      const depth = 600 + rng.int(20_000);
      return { ...base, body: Buffer.from('['.repeat(depth) + ']'.repeat(depth)) };
    }
    case 'oversized-body':
      return { ...base, body: Buffer.alloc((1 << 20) + 1 + rng.int(1 << 16), 0x61) };
    default: {
      const headers: Record<string, string> = { ...req.headers };
      for (let i = rng.int(30); i > 0; i--)
        headers[`X-${rng.string(6, 'abcdefghijklmnop')}`] = rng
          .string(rng.int(200))
          .replace(/[^\x20-\x7e]/g, '');
      return { ...req, headers };
    }
  }
}

type Answer = { status: number; body: string } | { error: string } | { hang: true };

function send(agent: Agent, port: number, req: Req): Promise<Answer> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (a: Answer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(a);
    };
    const r = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: req.method,
        path: req.path,
        headers: { ...req.headers, 'Content-Length': String(req.body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', (e) => finish({ error: e.message }));
      },
    );
    const timer = setTimeout(() => {
      finish({ hang: true });
      r.destroy();
    }, HANG_MS);
    r.on('error', (e) => finish({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    r.end(req.body);
  });
}

/** A raw connection: headers then a part of the body at a crawl, or a body cut short by a reset. */
function rawSend(port: number, req: Req, kind: 'slow-sender' | 'aborted-body'): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    let done = false;
    const finish = (a: Answer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(drip);
      socket.destroy();
      resolve(a);
    };
    const timer = setTimeout(() => finish({ hang: true }), HANG_MS);
    let drip: NodeJS.Timeout | undefined;
    const head =
      `${req.method} ${req.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
      Object.entries(req.headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      `Content-Length: ${req.body.length + 10}\r\n\r\n`;
    socket.on('data', (c: Buffer) => {
      got += c.toString();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m && got.includes('\r\n\r\n')) finish({ status: Number(m[1]), body: '' });
    });
    socket.on('error', (e) => finish({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    socket.on('close', () => finish({ error: 'closed without an answer' }));
    if (kind === 'aborted-body') {
      socket.write(head + req.body.subarray(0, req.body.length >> 1).toString());
      setTimeout(() => socket.resetAndDestroy(), 20);
      setTimeout(() => finish({ error: 'aborted by the client' }), 40);
    } else {
      // A slow-loris sender: a byte of the headers every 300 ms; the headers timeout ends it.
      let i = 0;
      drip = setInterval(() => {
        if (i < head.length) socket.write(head[i++]!);
      }, 300);
    }
  });
}

/**
 * Ingress fuzzing (issue 17, part 4): every push source type on one real broker, in this
 * process, behind the real HTTP kit; a seeded generator sends well-formed requests and their
 * mutations (malformed JSON, wrong content types, huge headers, bad signatures, truncated or
 * random bodies, deep nesting, oversized bodies, wrong methods and paths, header noise), plus
 * slow senders and bodies cut short by a reset on raw sockets. Every answer must be 2xx, 4xx or
 * 503, none may hang, the process must not crash, and every event answered 2xx must be on the
 * bus. Prints a block of counts.
 */
describe('fuzz: push ingress of every type', { timeout: 900_000 }, () => {
  const seed = fuzzSeed();
  const rng = new Prng(seed);
  const prefix = uniquePrefix('fuzzin');
  let bus: BusFixture;
  const store = new MemoryStore();
  const runners: RunnerFixture<unknown>[] = [];
  const ports = new Map<string, number>();
  const outbound: string[] = [];
  /** Markers of the events on the bus (a reader that survives consumer crashes under load). */
  const onBus = new Set<string>();
  let reader: TopicReader | undefined;

  before(async () => {
    bus = await new BusFixture(await kafkaBrokers(), `${prefix}-bus`).start();
    const marker = new RegExp(`${prefix}-\\d+`, 'g');
    reader = new TopicReader({
      kafka: bus.kafka,
      topics: [bus.topic],
      logger: bus.logger,
      onRecord: (_t, _p, m) => {
        for (const found of (m.value?.toString('utf8') ?? '').matchAll(marker)) onBus.add(found[0]);
      },
    });
    await reader.start();
    await reader.joined;
    store.put(bus.bus());
    for (const c of CASES) {
      const port = await freePort();
      ports.set(c.name, port);
      store.put(eventSource(`fz-${c.name.toLowerCase()}`, c.spec(port)));
    }
    // No request may leave the machine: a provider call (an SNS SubscribeURL) is answered here.
    const noNetwork = (async (input: string | URL | Request) => {
      const url = String(input instanceof Request ? input.url : input);
      outbound.push(url);
      // A provider that cannot be reached, or that refuses.
      if (url.endsWith('fail')) throw new TypeError('fetch failed');
      return new Response('refused by the fuzz suite', { status: 403 });
    }) as typeof fetch;
    for (const c of CASES)
      runners.push(
        (await startRunner(c.source, store, bus.clients, {
          env: secretEnv(SECRETS),
          fetch: noNetwork,
          limits: { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000, requestDeadlineMs: 2_000 },
        })) as RunnerFixture<unknown>,
      );
  });

  after(async () => {
    for (const r of runners) await r.close();
    await reader?.stop();
    await bus?.stop();
  });

  it(
    `${TOTAL} generated requests: only 2xx/4xx/503, no hang, every 2xx event on the bus`,
    { timeout: 900_000 },
    async () => {
      // Every type serves its route: a well-formed request is accepted and published.
      for (const c of CASES) {
        const marker = `${prefix}-probe-${c.name}`;
        await waitFor(
          async () => {
            const a = await send(new Agent(), ports.get(c.name)!, c.valid(marker, rng));
            return 'status' in a && a.status === 200;
          },
          { timeoutMs: 30_000, what: `the ${c.name} route` },
        );
      }
      const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
      const byType = new Map<string, Map<string, number>>();
      const byMutation = new Map<string, number>();
      const latency = new Map<string, number>();
      const statuses = new Map<number, number>();
      const bad: string[] = [];
      const hangs: string[] = [];
      const published = new Set<string>();
      let errors = 0;
      let next = 0;
      const started = Date.now();
      const count = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
      const one = async (i: number): Promise<void> => {
        const c = CASES[i % CASES.length]!;
        const marker = `${prefix}-${i}`;
        // The costly kinds, at a fixed share: slow senders (1 s each), resets, 1 MiB+ bodies.
        const special =
          i % 997 === 0
            ? 'slow-sender'
            : i % 101 === 0
              ? 'aborted-body'
              : i % 53 === 0
                ? 'oversized-body'
                : undefined;
        const kind: Mutation = special ?? rng.pick(MUTATIONS);
        const req = mutate(kind, c.valid(marker, rng), rng);
        const port = ports.get(c.name)!;
        const t0 = performance.now();
        const answer =
          kind === 'slow-sender' || kind === 'aborted-body'
            ? await rawSend(port, req, kind)
            : await send(agent, port, req);
        count(byMutation, kind);
        latency.set(kind, (latency.get(kind) ?? 0) + performance.now() - t0);
        const types = byType.get(c.name) ?? new Map<string, number>();
        byType.set(c.name, types);
        if ('hang' in answer) {
          hangs.push(`${c.name}/${kind}`);
          return;
        }
        if ('error' in answer) {
          errors++;
          count(types, 'no answer');
          return;
        }
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        count(types, String(answer.status));
        const ok =
          (answer.status >= 200 && answer.status < 300) ||
          (answer.status >= 400 && answer.status < 500) ||
          answer.status === 503;
        if (!ok) bad.push(`${c.name}/${kind}: ${answer.status} ${answer.body.slice(0, 120)}`);
        if (answer.status === 200 && answer.body === 'success' && req.marker) published.add(marker);
      };
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let i = next++; i < TOTAL; i = next++) await one(i);
        }),
      );
      const sentMs = Date.now() - started;
      // Every event answered 2xx is on the bus.
      const missing = (): string[] => [...published].filter((m) => !onBus.has(m));
      await waitFor(() => missing().length === 0, {
        timeoutMs: 120_000,
        intervalMs: 500,
        what: 'every 2xx event on the bus',
      }).catch(() => undefined);
      const lost = missing();
      const answered = [...statuses.values()].reduce((a, b) => a + b, 0);
      const lines = [
        `# ---- fuzz: push ingress (seed ${seed}) ----`,
        `# requests: ${TOTAL} over ${CASES.length} types in ${(sentMs / 1000).toFixed(1)} s (${Math.round((TOTAL * 1000) / sentMs)}/s, ${CONCURRENCY} in flight)`,
        `# answered: ${answered}; statuses: ${[...statuses]
          .sort((a, b) => a[0] - b[0])
          .map(([s, n]) => `${s}=${n}`)
          .join(' ')}; no answer (reset/aborted by the client or the server): ${errors}`,
        `# by mutation (count, mean ms): ${[...byMutation]
          .map(([k, n]) => `${k}=${n} (${((latency.get(k) ?? 0) / n).toFixed(1)})`)
          .join(' ')}`,
        ...[...byType].map(
          ([t, m]) =>
            `#   ${t}: ${[...m]
              .sort()
              .map(([k, n]) => `${k}=${n}`)
              .join(' ')}`,
        ),
        `# accepted and published (200 success): ${published.size}; on the bus: ${published.size - lost.length}; lost: ${lost.length}`,
        `# other than 2xx/4xx/503: ${bad.length}; hangs: ${hangs.length}; crashes: 0 (the process is alive); outbound calls answered locally: ${outbound.length}`,
        `# ----`,
      ];
      console.log(lines.join('\n'));
      assert.deepEqual(bad.slice(0, 20), [], 'only 2xx, 4xx and 503 answers');
      assert.deepEqual(hangs.slice(0, 20), [], 'no request hangs');
      assert.deepEqual(lost.slice(0, 20), [], 'every 2xx event is on the bus');
      assert.ok(published.size > TOTAL / 50, 'a share of the requests was accepted and published');
      for (const c of CASES)
        assert.ok(byType.get(c.name)?.get('200'), `${c.name} accepted some requests`);
    },
  );
});
