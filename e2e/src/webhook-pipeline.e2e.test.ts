import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, KafkaBroker, uniquePrefix, waitFor } from '@ganglion/testing';
import { eventBusYaml, manifestDir, Stack, TargetServer, webhookSourceYaml } from './harness.js';

/**
 * The walking skeleton end to end: webhook ingress → Kafka → sensor → Kafka → http/log trigger,
 * each service its own process, on a real broker this file owns (it stops and restarts it).
 */
describe('webhook → sensor → trigger on a real Kafka broker', { timeout: 600_000 }, () => {
  let broker: KafkaBroker;
  let stack: Stack;
  let target: TargetServer;
  let webhookUrl: string;

  before(async () => {
    broker = await KafkaBroker.start();
    target = await new TargetServer().start();
    const prefix = uniquePrefix('e2e');
    const busTopic = `${prefix}-bus`;
    const port = await freePort();
    webhookUrl = `http://127.0.0.1:${port}/example`;
    const dir = manifestDir({
      'eventbus.yaml': eventBusYaml(busTopic),
      'eventsource.yaml': webhookSourceYaml('webhook', port, ['example']),
      'sensor.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: webhook}
spec:
  dependencies:
    - {name: test-dep, eventSourceName: webhook, eventName: example}
  triggers:
    - template:
        name: log-trigger
        log: {}
    - template:
        name: http-trigger
        http:
          url: http://127.0.0.1:${target.port}/notify
          method: POST
          payload:
            - src: {dependencyName: test-dep, dataKey: body.message}
              dest: text
            - src: {dependencyName: test-dep, dataKey: body.seq}
              dest: seq
            - src: {dependencyName: test-dep, contextKey: source}
              dest: meta.source
`,
    });
    stack = await new Stack(broker.brokers, prefix, dir).start();
  });

  after(async () => {
    await stack?.stop();
    await target?.stop();
    await broker?.destroy();
  });

  const post = (body: unknown): Promise<Response> =>
    fetch(webhookUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('delivers a posted event to the http target with the parameterized payload, and the log trigger prints it', async () => {
    const res = await post({ message: 'hello', seq: 'first' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'success');
    const call = await waitFor(
      () => target.calls.find((c) => (c.body as { seq?: string }).seq === 'first'),
      { timeoutMs: 30_000, what: 'the http trigger call' },
    );
    assert.equal(call.method, 'POST');
    assert.equal(call.url, '/notify');
    assert.deepEqual(call.body, { text: 'hello', seq: 'first', meta: { source: 'webhook' } });
    assert.match(String(call.headers['idempotency-key']), /^[0-9a-f]{32}$/);
    await waitFor(
      () =>
        stack
          .get('trigger')
          .records()
          .some(
            (r) =>
              typeof r['msg'] === 'string' &&
              r['msg'].includes('"message":"hello"') &&
              r['trigger'] === 'log-trigger',
          ),
      {
        timeoutMs: 15_000,
        what: 'the log trigger to print the event',
      },
    );
  });

  it('answers 4xx with the reason for bad requests and publishes nothing for them', async () => {
    const before = target.calls.length;
    const bad = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{not json',
    });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /not valid JSON/);
    const wrongMethod = await fetch(webhookUrl, { method: 'PUT', body: '{}' });
    assert.equal(wrongMethod.status, 405);
    const unknown = await fetch(webhookUrl.replace('/example', '/nope'), {
      method: 'POST',
      body: '{}',
    });
    assert.equal(unknown.status, 404);
    const health = await fetch(webhookUrl.replace('/example', '/health'));
    assert.equal(health.status, 200);
    // A marker event sent afterwards arrives, and nothing arrived for the bad requests.
    assert.equal((await post({ message: 'marker', seq: 'marker' })).status, 200);
    await waitFor(() => target.calls.some((c) => (c.body as { seq?: string }).seq === 'marker'), {
      timeoutMs: 30_000,
      what: 'the marker event',
    });
    assert.equal(target.calls.length, before + 1);
  });

  it('turns 1,000 concurrent posts into 1,000 distinct target calls, none lost, none twice', async () => {
    const n = 1000;
    const start = target.calls.length;
    const t0 = Date.now();
    const responses = await Promise.all(
      Array.from({ length: n }, (_, i) => post({ message: `m${i}`, seq: `bulk-${i}` })),
    );
    const statuses = responses.map((r) => r.status);
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    assert.deepEqual([...new Set(statuses)], [200]);
    const bulk = (): string[] =>
      target.calls
        .slice(start)
        .map((c) => String((c.body as { seq?: string }).seq))
        .filter((s) => s.startsWith('bulk-'));
    const accepted = Date.now();
    await waitFor(() => new Set(bulk()).size === n, {
      timeoutMs: 120_000,
      what: `${n} distinct target calls`,
    });
    console.log(
      `# ${n} events: all acknowledged after ${accepted - t0} ms, all delivered after ${Date.now() - t0} ms`,
    );
    // Barrier: all webhook events share one key, so one partition end to end (events, then
    // actions of the http trigger); once a sentinel posted after the bulk arrives, every bulk
    // action has been executed, and any duplicate would have been delivered already.
    assert.equal((await post({ message: 'sentinel', seq: 'sentinel-bulk' })).status, 200);
    await waitFor(
      () => target.calls.some((c) => (c.body as { seq?: string }).seq === 'sentinel-bulk'),
      { timeoutMs: 60_000, what: 'the sentinel event' },
    );
    const seqs = bulk();
    assert.equal(seqs.length, n, `expected ${n} calls, got ${seqs.length}`);
    assert.equal(new Set(seqs).size, n);
    const keys = target.calls
      .slice(start)
      .filter((c) => String((c.body as { seq?: string }).seq).startsWith('bulk-'))
      .map((c) => c.headers['idempotency-key']);
    assert.equal(new Set(keys).size, n, 'every action has its own idempotency key');
  });

  it('answers 503 with Retry-After while the broker is down, never 2xx, and delivers the next event once it is back', async () => {
    await broker.stop();
    const down = await post({ message: 'while down', seq: 'down' });
    assert.equal(down.status, 503);
    assert.ok(down.headers.get('retry-after'), 'Retry-After is set');
    assert.match(await down.text(), /event not recorded/);
    await broker.resume();
    // Post until the ingress reconnected; every 200 must be delivered.
    const accepted: string[] = [];
    await waitFor(
      async () => {
        const seq = `after-${accepted.length}-${Date.now()}`;
        const res = await post({ message: 'back', seq });
        await res.arrayBuffer();
        assert.ok(res.status === 200 || res.status === 503, `unexpected status ${res.status}`);
        if (res.status === 200) accepted.push(seq);
        return res.status === 200;
      },
      { timeoutMs: 90_000, intervalMs: 250, what: 'the webhook to accept events again' },
    );
    await waitFor(
      () => accepted.every((s) => target.calls.some((c) => (c.body as { seq?: string }).seq === s)),
      {
        timeoutMs: 90_000,
        what: 'the event accepted after the restart to be delivered',
      },
    );
  });
});
