import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  freePort,
  Jaeger,
  kafkaBrokers,
  REPO_ROOT,
  uniquePrefix,
  waitFor,
  type JaegerSpan,
  type JaegerTrace,
} from '@ganglion/testing';
import {
  eventBusYaml,
  manifestDir,
  Stack,
  TargetServer,
  webhookSourceYaml,
  traceIdOf,
} from './harness.js';

/**
 * The README's quick start, traced into a real Jaeger (v1.75.0 built from the Go module proxy by
 * scripts/ensure-jaeger.sh, in-memory storage, loopback ports): the example webhook EventSource
 * and Sensor of examples/local/ (ports and bus topic made private), the services as separate
 * processes exporting OTLP/HTTP (protobuf, the SDK's default) to Jaeger, the README's curl line
 * as a fetch, and Jaeger's query API (`/api/traces`) asked for the result.
 */
describe(
  'a webhook event in Jaeger (real Jaeger, services as processes, real broker)',
  { timeout: 300_000 },
  () => {
    let jaeger: Jaeger;
    let stack: Stack;
    let target: TargetServer;
    let webhookUrl: string;
    let joinUrl: (side: 'left' | 'right') => string;
    let busTopic: string;

    before(async () => {
      const brokers = await kafkaBrokers();
      jaeger = await Jaeger.start();
      target = await new TargetServer().start();
      const prefix = uniquePrefix('jaeger');
      busTopic = `${prefix}-bus`;
      const port = await freePort();
      webhookUrl = `http://127.0.0.1:${port}/example`;
      const joinPort = await freePort();
      joinUrl = (side) => `http://127.0.0.1:${joinPort}/${side}`;
      const example = (file: string): string =>
        readFileSync(join(REPO_ROOT, 'examples', 'local', file), 'utf8');
      const dir = manifestDir({
        'eventbus.yaml': eventBusYaml(busTopic),
        'webhook-eventsource.yaml': example('webhook-eventsource.yaml').replace(
          /port: (['"])12000\1/,
          `port: "${port}"`,
        ),
        'webhook-sensor.yaml': example('webhook-sensor.yaml').replace(
          'http://127.0.0.1:12001/',
          `http://127.0.0.1:${target.port}/`,
        ),
        'joinsource.yaml': webhookSourceYaml('joinsrc', joinPort, ['left', 'right']),
        'joined.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: joined}
spec:
  dependencies:
    - {name: a, eventSourceName: joinsrc, eventName: left}
    - {name: b, eventSourceName: joinsrc, eventName: right}
  triggers:
    - template:
        name: join-trigger
        conditions: "a && b"
        http:
          url: http://127.0.0.1:${target.port}/joined
          method: POST
`,
      });
      assert.notEqual(
        readFileSync(join(dir, 'webhook-eventsource.yaml'), 'utf8'),
        example('webhook-eventsource.yaml'),
        'the example port was replaced',
      );
      stack = await new Stack(brokers, prefix, dir, {
        env: { ...jaeger.exportEnv, OTEL_BSP_SCHEDULE_DELAY: '100' },
      }).start();
    });

    after(async () => {
      await stack?.stop();
      await target?.stop();
      await jaeger?.destroy();
    });

    /** Polls Jaeger until the trace holds every wanted `service:span name`. */
    const traceWith = async (traceId: string, wanted: string[]): Promise<JaegerTrace> =>
      waitFor(
        async () => {
          const trace = await jaeger.trace(traceId);
          const have = new Set(trace?.spans.map((s) => `${s.service}:${s.name}`));
          const missing = wanted.filter((w) => !have.has(w));
          if (missing.length)
            throw new Error(
              `missing ${missing.join(', ')}; Jaeger has ${[...have].join(', ') || 'nothing'}`,
            );
          return trace;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: `trace ${traceId} in Jaeger` },
      );

    it("shows the README's curl as ONE trace with spans of the webhook ingress, sensor and trigger processes", async () => {
      // curl -X POST -H 'Content-Type: application/json' -d '{"message":"hello"}' http://localhost:12000/example
      const res = await fetch(webhookUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ message: 'hello' }),
      });
      assert.equal(res.status, 200);
      const call = await waitFor(() => target.calls.find((c) => c.url === '/notify'), {
        timeoutMs: 30_000,
        what: 'the example http trigger call',
      });
      assert.equal((call.body as { text?: string }).text, 'hello');
      const traceId = traceIdOf(call.headers['traceparent']);

      const trace = await traceWith(traceId, [
        'ganglion-ingress-webhook:POST',
        `ganglion-ingress-webhook:send ${busTopic}`,
        `ganglion-sensor:process ${busTopic}`,
        'ganglion-sensor:evaluate',
        `ganglion-sensor:send ${busTopic}-actions`,
        `ganglion-trigger:process ${busTopic}-actions`,
        'ganglion-trigger:trigger http',
        'ganglion-trigger:trigger log',
        'ganglion-trigger:POST',
        `ganglion-trigger:send ${busTopic}-outcomes`,
      ]);
      assert.deepEqual([...new Set(trace.spans.map((s) => s.service))].sort(), [
        'ganglion-ingress-webhook',
        'ganglion-sensor',
        'ganglion-trigger',
      ]);

      // One tree: a single root, the ingress's request span; every other span's parent is in the trace.
      const byId = new Map(trace.spans.map((s) => [s.spanId, s]));
      const roots = trace.spans.filter((s) => !s.parentSpanId);
      assert.deepEqual(
        roots.map((s) => `${s.service}:${s.name}:${s.kind}`),
        ['ganglion-ingress-webhook:POST:server'],
      );
      for (const s of trace.spans)
        if (s.parentSpanId)
          assert.ok(
            byId.has(s.parentSpanId),
            `the parent of ${s.service}:${s.name} is in the trace`,
          );
      // Each process continues the previous one (CHILD_OF across the Kafka hops).
      const find = (service: string, name: string): JaegerSpan =>
        trace.spans.find((s) => s.service === service && s.name === name)!;
      const parentOf = (s: JaegerSpan): string => {
        const p = byId.get(s.parentSpanId);
        return p ? `${p.service}:${p.name}` : '(none)';
      };
      const ingressSend = find('ganglion-ingress-webhook', `send ${busTopic}`);
      assert.equal(parentOf(ingressSend), 'ganglion-ingress-webhook:POST');
      assert.equal(ingressSend.kind, 'producer');
      const sensorProcess = find('ganglion-sensor', `process ${busTopic}`);
      assert.equal(parentOf(sensorProcess), `ganglion-ingress-webhook:send ${busTopic}`);
      assert.equal(sensorProcess.kind, 'consumer');
      assert.equal(
        sensorProcess.tags['messaging.message.id'],
        ingressSend.tags['messaging.message.id'],
      );
      assert.equal(
        parentOf(find('ganglion-sensor', 'evaluate')),
        `ganglion-sensor:process ${busTopic}`,
      );
      const actionSends = trace.spans.filter(
        (s) => s.service === 'ganglion-sensor' && s.name === `send ${busTopic}-actions`,
      );
      assert.equal(
        actionSends.length,
        2,
        'one action per trigger of the example Sensor (log, http)',
      );
      for (const s of actionSends) assert.equal(parentOf(s), `ganglion-sensor:process ${busTopic}`);
      for (const p of trace.spans.filter(
        (s) => s.service === 'ganglion-trigger' && s.name === `process ${busTopic}-actions`,
      )) {
        assert.equal(parentOf(p), `ganglion-sensor:send ${busTopic}-actions`);
        assert.equal(p.kind, 'consumer');
      }
      const triggerHttp = find('ganglion-trigger', 'trigger http');
      assert.equal(triggerHttp.tags['ganglion.trigger'], 'http-trigger');
      assert.equal(parentOf(triggerHttp), `ganglion-trigger:process ${busTopic}-actions`);
      const outbound = find('ganglion-trigger', 'POST');
      assert.equal(parentOf(outbound), 'ganglion-trigger:trigger http');
      assert.equal(outbound.kind, 'client');
      // The target got the trigger's outbound span as its parent.
      assert.equal(String(call.headers['traceparent']).split('-')[2], outbound.spanId);

      // Found the way a user finds it: by service in the query API.
      assert.ok(
        (await jaeger.traces('ganglion-ingress-webhook')).some((t) => t.traceId === traceId),
        '/api/traces?service=ganglion-ingress-webhook lists the trace',
      );
      const services = await jaeger.services();
      for (const s of ['ganglion-ingress-webhook', 'ganglion-sensor', 'ganglion-trigger'])
        assert.ok(services.includes(s), `/api/services lists ${s}`);
    });

    it("links the traces of both events of a join from the action's send span (FOLLOWS_FROM in Jaeger)", async () => {
      const traceA = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa03';
      const traceB = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb04';
      const post = (side: 'left' | 'right', trace: string): Promise<Response> =>
        fetch(joinUrl(side), {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            traceparent: `00-${trace}-00f067aa0ba902b7-01`,
          },
          body: '{}',
        });
      assert.equal((await post('left', traceA)).status, 200);
      // The left event waits in the join state; its trace ends in the sensor.
      await traceWith(traceA, [`ganglion-sensor:send ${busTopic}-joins`]);
      assert.equal((await post('right', traceB)).status, 200);
      const call = await waitFor(() => target.calls.find((c) => c.url === '/joined'), {
        timeoutMs: 30_000,
        what: 'the join trigger call',
      });
      assert.equal(
        traceIdOf(call.headers['traceparent']),
        traceB,
        'the action continues the trace of the event that completed the join',
      );
      const trace = await traceWith(traceB, [
        `ganglion-sensor:send ${busTopic}-actions`,
        'ganglion-trigger:trigger http',
      ]);
      const send = trace.spans.find(
        (s) => s.service === 'ganglion-sensor' && s.name === `send ${busTopic}-actions`,
      )!;
      assert.deepEqual([...new Set(send.links.map((l) => l.traceId))].sort(), [traceA, traceB]);
      // The linked span of the first event is in Jaeger too.
      const linked = send.links.find((l) => l.traceId === traceA)!;
      await waitFor(
        async () => (await jaeger.trace(traceA))?.spans.some((s) => s.spanId === linked.spanId),
        { timeoutMs: 30_000, what: 'the linked span of the first trace in Jaeger' },
      );
    });
  },
);
