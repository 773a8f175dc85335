import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { freePort, kafkaBrokers, uniquePrefix, waitFor, withBody } from '@ganglion/testing';
import {
  eventBusYaml,
  manifestDir,
  Stack,
  TargetServer,
  webhookSourceYaml,
  traceIdOf,
} from './harness.js';

/** One span as received over OTLP/HTTP (JSON encoding). */
interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  links: { traceId: string; spanId: string }[];
  attributes: Record<string, unknown>;
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
};
type KeyValue = { key: string; value: AnyValue };

function attrs(list: KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? [])
    out[kv.key] =
      kv.value.stringValue ?? kv.value.intValue ?? kv.value.boolValue ?? kv.value.doubleValue;
  return out;
}

/**
 * A real OTLP/HTTP receiver on 127.0.0.1: the services export to it with
 * `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`, so `POST /v1/traces` bodies are plain JSON
 * (ExportTraceServiceRequest; ids as hex strings).
 */
class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  private server: Server | undefined;
  port = 0;

  async start(): Promise<this> {
    this.port = await freePort();
    this.server = createServer(
      withBody((req, res, raw) => {
        if (req.url !== '/v1/traces') {
          res.writeHead(404).end();
          return;
        }
        const body = JSON.parse(raw.toString('utf8')) as {
          resourceSpans?: {
            resource?: { attributes?: KeyValue[] };
            scopeSpans?: {
              spans?: {
                traceId: string;
                spanId: string;
                parentSpanId?: string;
                name: string;
                kind: number;
                links?: { traceId: string; spanId: string }[];
                attributes?: KeyValue[];
              }[];
            }[];
          }[];
        };
        for (const rs of body.resourceSpans ?? []) {
          const service = String(attrs(rs.resource?.attributes)['service.name']);
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? [])
              this.spans.push({
                service,
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? '',
                name: s.name,
                kind: s.kind,
                links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
                attributes: attrs(s.attributes),
              });
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      }),
    );
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    return this;
  }

  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}

/** Value of one series in a Prometheus text exposition (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe(
  'tracing and metrics across the services (separate processes, real broker)',
  { timeout: 300_000 },
  () => {
    let stack: Stack;
    let target: TargetServer;
    let otlp: OtlpReceiver;
    let slow: Server;
    let slowPort: number;
    /** While true, the slow target holds its requests (a stuck trigger target). */
    let holding = false;
    const held: (() => void)[] = [];
    let webhookUrl: string;
    let joinUrl: (side: 'left' | 'right') => string;
    let busTopic: string;

    before(async () => {
      const brokers = await kafkaBrokers();
      target = await new TargetServer().start();
      otlp = await new OtlpReceiver().start();
      slowPort = await freePort();
      slow = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          const answer = (): void => void res.writeHead(200).end('ok');
          if (holding) held.push(answer);
          else answer();
        });
      });
      await new Promise<void>((resolve) => slow.listen(slowPort, '127.0.0.1', resolve));
      const prefix = uniquePrefix('telemetry');
      busTopic = `${prefix}-bus`;
      const port = await freePort();
      webhookUrl = `http://127.0.0.1:${port}/example`;
      const joinPort = await freePort();
      joinUrl = (side) => `http://127.0.0.1:${joinPort}/${side}`;
      const dir = manifestDir({
        'eventbus.yaml': eventBusYaml(busTopic),
        'eventsource.yaml': webhookSourceYaml('webhook', port, ['example']),
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
          payload:
            - src: {dependencyName: b, dataKey: body.seq}
              dest: seq
`,
        'sensor.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: traced}
spec:
  dependencies:
    - {name: dep, eventSourceName: webhook, eventName: example}
  triggers:
    - template:
        name: http-trigger
        http:
          url: http://127.0.0.1:${target.port}/notify
          method: POST
          payload:
            - src: {dependencyName: dep, dataKey: body.seq}
              dest: seq
    - template:
        name: slow-trigger
        http:
          url: http://127.0.0.1:${slowPort}/slow
          method: POST
`,
      });
      stack = await new Stack(brokers, prefix, dir, {
        metrics: true,
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlp.port}`,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_BSP_SCHEDULE_DELAY: '100',
          GANGLION_LAG_POLL_MS: '300',
          GANGLION_LIVENESS_STALL_SECONDS: '2',
        },
      }).start();
    });

    after(async () => {
      await stack?.stop();
      await target?.stop();
      await otlp?.stop();
      for (const answer of held.splice(0)) answer();
      await new Promise<void>((resolve) => (slow ? slow.close(() => resolve()) : resolve()));
    });

    const scrape = async (
      name: 'ingress-webhook' | 'sensor' | 'trigger' | 'reconciler',
    ): Promise<string> => {
      const res = await fetch(stack.metricsUrl(name));
      assert.equal(res.status, 200);
      assert.match(String(res.headers.get('content-type')), /text\/plain/);
      return res.text();
    };
    const post = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(webhookUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });

    const es = 'namespace="default",eventsource_name="webhook",event_name="example"';
    const tr = 'namespace="default",sensor_name="traced",trigger_name="http-trigger"';

    it('serves every series from start-up, before any event, with histogram buckets', async () => {
      const ingress = await scrape('ingress-webhook');
      assert.equal(sample(ingress, `argo_events_events_sent_total{${es}}`), 0);
      assert.equal(sample(ingress, `argo_events_events_sent_failed_total{${es}}`), 0);
      assert.equal(sample(ingress, `argo_events_events_processing_failed_total{${es}}`), 0);
      assert.equal(
        sample(ingress, `argo_events_event_processing_duration_milliseconds_bucket{le="10",${es}}`),
        0,
      );
      assert.equal(
        sample(
          ingress,
          `argo_events_event_service_running_total{namespace="default",eventsource_name="webhook"}`,
        ),
        1,
      );
      assert.equal(sample(ingress, 'ganglion_producer_batch_size_count{producer="events"}'), 0);
      assert.ok(sample(ingress, 'process_resident_memory_bytes')! > 0, 'process metrics');
      const trigger = await scrape('trigger');
      for (const m of [
        'argo_events_action_triggered_total',
        'argo_events_action_failed_total',
        'argo_events_action_retries_failed_total',
      ])
        assert.equal(sample(trigger, `${m}{${tr}}`), 0, m);
      assert.equal(
        sample(trigger, `argo_events_action_duration_milliseconds_bucket{le="+Inf",${tr}}`),
        0,
      );
      const sensor = await scrape('sensor');
      assert.equal(sample(sensor, `ganglion_join_state_entries{${tr}}`), 0);
      assert.equal(
        sample(
          sensor,
          'ganglion_sensor_events_total{namespace="default",sensor_name="traced",result="fired"}',
        ),
        0,
      );
      const reconciler = await scrape('reconciler');
      assert.match(reconciler, /^ganglion_build_info\{.*service="reconciler"\} 1$/m);
    });

    it('exports ONE trace with spans of the ingress, sensor and trigger processes for one posted event', async () => {
      const res = await post({ seq: 'traced-1' });
      assert.equal(res.status, 200);
      const call = await waitFor(
        () => target.calls.find((c) => (c.body as { seq?: string }).seq === 'traced-1'),
        { timeoutMs: 30_000, what: 'the http trigger call' },
      );
      // The trigger's outbound call carries the trace to the target.
      const traceId = traceIdOf(call.headers['traceparent']);
      const wanted = [
        ['ganglion-ingress-webhook', 'POST'],
        ['ganglion-ingress-webhook', `send ${busTopic}`],
        ['ganglion-sensor', `process ${busTopic}`],
        ['ganglion-sensor', 'evaluate'],
        ['ganglion-sensor', `send ${busTopic}-actions`],
        ['ganglion-trigger', `process ${busTopic}-actions`],
        ['ganglion-trigger', 'trigger http'],
        ['ganglion-trigger', 'POST'],
        ['ganglion-trigger', `send ${busTopic}-outcomes`],
      ] as const;
      const has = (service: string, name: string): boolean =>
        otlp.trace(traceId).some((s) => s.service === service && s.name === name);
      await waitFor(
        () => {
          const missing = wanted.filter(([s, n]) => !has(s, n));
          if (missing.length)
            throw new Error(
              `missing spans ${missing.map(([s, n]) => `${s}:${n}`).join(', ')}; have ${otlp
                .trace(traceId)
                .map((x) => `${x.service}:${x.name}`)
                .join(', ')}`,
            );
          return true;
        },
        { timeoutMs: 30_000, what: `the spans of trace ${traceId}` },
      );
      const spans = otlp.trace(traceId);
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      const find = (service: string, name: string): (typeof spans)[number] =>
        spans.find((s) => s.service === service && s.name === name)!;
      // One connected tree: a single root (the inbound request), every other span's parent in the trace.
      const roots = spans.filter((s) => !s.parentSpanId);
      assert.deepEqual(
        roots.map((s) => `${s.service}:${s.name}`),
        ['ganglion-ingress-webhook:POST'],
      );
      for (const s of spans)
        if (s.parentSpanId)
          assert.ok(byId.has(s.parentSpanId), `parent of ${s.service}:${s.name} is in the trace`);
      // Each hop continues the previous one through the Kafka headers.
      const parentOf = (s: ReceivedSpan): ReceivedSpan | undefined => byId.get(s.parentSpanId);
      assert.equal(
        parentOf(find('ganglion-sensor', `process ${busTopic}`))?.name,
        `send ${busTopic}`,
      );
      assert.equal(
        parentOf(find('ganglion-trigger', `process ${busTopic}-actions`))?.name,
        `send ${busTopic}-actions`,
      );
      assert.equal(parentOf(find('ganglion-trigger', 'POST'))?.name, 'trigger http');
      // Messaging conventions.
      const send = find('ganglion-ingress-webhook', `send ${busTopic}`);
      assert.equal(send.kind, 4, 'PRODUCER');
      assert.equal(send.attributes['messaging.system'], 'kafka');
      assert.equal(send.attributes['messaging.destination.name'], busTopic);
      const proc = find('ganglion-sensor', `process ${busTopic}`);
      assert.equal(proc.kind, 5, 'CONSUMER');
      assert.equal(
        proc.attributes['messaging.message.id'],
        send.attributes['messaging.message.id'],
      );
      assert.deepEqual(
        spans
          .filter((x) => x.name === 'trigger http')
          .map((x) => x.attributes['ganglion.trigger'])
          .sort(),
        ['http-trigger', 'slow-trigger'],
        'one trigger span per action of the event',
      );
    });

    it("honours the caller's trace context: the event joins the trace of the inbound traceparent", async () => {
      const upstreamTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
      const res = await post(
        { seq: 'traced-2' },
        { traceparent: `00-${upstreamTrace}-00f067aa0ba902b7-01` },
      );
      assert.equal(res.status, 200);
      const call = await waitFor(
        () => target.calls.find((c) => (c.body as { seq?: string }).seq === 'traced-2'),
        { timeoutMs: 30_000, what: 'the http trigger call' },
      );
      assert.equal(traceIdOf(call.headers['traceparent']), upstreamTrace);
      await waitFor(
        () =>
          otlp
            .trace(upstreamTrace)
            .some((s) => s.service === 'ganglion-trigger' && s.name === 'trigger http'),
        {
          timeoutMs: 30_000,
          what: 'the trigger span in the upstream trace',
        },
      );
      const server = otlp
        .trace(upstreamTrace)
        .find((s) => s.service === 'ganglion-ingress-webhook' && s.name === 'POST');
      assert.equal(server?.parentSpanId, '00f067aa0ba902b7');
    });

    it("links the traces of all a join's events from its action's send span", async () => {
      const traceA = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01';
      const traceB = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb02';
      const jt = 'namespace="default",sensor_name="joined",trigger_name="join-trigger"';
      const postSide = (side: 'left' | 'right', trace: string): Promise<Response> =>
        fetch(joinUrl(side), {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            traceparent: `00-${trace}-00f067aa0ba902b7-01`,
          },
          body: JSON.stringify({ seq: `join-${side}` }),
        });
      assert.equal((await postSide('left', traceA)).status, 200);
      // The first event waits in the join state (one partial join held by the sensor).
      await waitFor(
        async () => sample(await scrape('sensor'), `ganglion_join_state_entries{${jt}}`) === 1,
        { timeoutMs: 30_000, what: 'the partial join' },
      );
      assert.equal((await postSide('right', traceB)).status, 200);
      const call = await waitFor(() => target.calls.find((c) => c.url === '/joined'), {
        timeoutMs: 30_000,
        what: 'the join trigger call',
      });
      // The action continues the trace of the event that completed the join...
      assert.equal(traceIdOf(call.headers['traceparent']), traceB);
      const send = await waitFor(
        () =>
          otlp
            .trace(traceB)
            .find((s) => s.service === 'ganglion-sensor' && s.name === `send ${busTopic}-actions`),
        { timeoutMs: 30_000, what: "the action's send span" },
      );
      // ...and links the traces of both events.
      assert.deepEqual([...new Set(send.links.map((l) => l.traceId))].sort(), [traceA, traceB]);
      await waitFor(
        () =>
          otlp
            .trace(traceB)
            .some((s) => s.service === 'ganglion-trigger' && s.name === 'trigger http'),
        { timeoutMs: 30_000, what: 'the trigger span' },
      );
      await waitFor(
        async () => sample(await scrape('sensor'), `ganglion_join_state_entries{${jt}}`) === 0,
        { timeoutMs: 30_000, what: 'the join state emptied' },
      );
    });

    it('counts the events and actions in counters and histograms', async () => {
      // Two events were posted by the tests above.
      await waitFor(
        async () =>
          sample(await scrape('trigger'), `argo_events_action_triggered_total{${tr}}`) === 2,
        { timeoutMs: 30_000, what: 'two triggered actions' },
      );
      const ingress = await scrape('ingress-webhook');
      assert.equal(sample(ingress, `argo_events_events_sent_total{${es}}`), 2);
      assert.equal(sample(ingress, `argo_events_events_sent_failed_total{${es}}`), 0);
      assert.equal(
        sample(ingress, `argo_events_event_processing_duration_milliseconds_count{${es}}`),
        2,
      );
      assert.equal(
        sample(
          ingress,
          `argo_events_event_processing_duration_milliseconds_bucket{le="+Inf",${es}}`,
        ),
        2,
      );
      assert.ok(sample(ingress, 'ganglion_producer_batch_size_count{producer="events"}')! >= 1);
      const trigger = await scrape('trigger');
      assert.equal(sample(trigger, `argo_events_action_failed_total{${tr}}`), 0);
      assert.equal(sample(trigger, `argo_events_action_duration_milliseconds_count{${tr}}`), 2);
      assert.ok(sample(trigger, 'ganglion_producer_batch_size_count{producer="outcomes"}')! >= 1);
      const sensor = await scrape('sensor');
      assert.equal(
        sample(
          sensor,
          'ganglion_sensor_events_total{namespace="default",sensor_name="traced",result="fired"}',
        ),
        2,
      );
      // Consumer lag of the sensor's group on the event topic, polled from the broker.
      await waitFor(
        async () => {
          const text = await scrape('sensor');
          const lags = text
            .split('\n')
            .filter((l) =>
              l.startsWith(
                `ganglion_consumer_lag{group="ganglion-sensor.${busTopic}",topic="${busTopic}",`,
              ),
            );
          return lags.length > 0 && lags.every((l) => l.endsWith(' 0'));
        },
        { timeoutMs: 30_000, what: 'the sensor consumer lag series at 0' },
      );
    });

    it('fails liveness while a consumer has records waiting and makes no progress, and recovers', async () => {
      const healthz = stack.get('trigger').healthUrl('/healthz');
      assert.equal((await fetch(healthz)).status, 200);
      holding = true;
      // The slow trigger's action blocks the trigger's consumer in the middle of a batch.
      assert.equal((await post({ seq: 'stuck-1' })).status, 200);
      await waitFor(() => held.length === 1, {
        timeoutMs: 30_000,
        what: 'the slow target to hold a request',
      });
      const dead = await waitFor(
        async () => {
          const res = await fetch(healthz);
          const text = await res.text();
          return res.status === 503 ? text : undefined;
        },
        { timeoutMs: 30_000, what: '/healthz to fail' },
      );
      assert.match(
        dead,
        /consumer-progress: no progress for \d+s with records waiting on .*-actions\[\d+\]/,
      );
      const stalled = await scrape('trigger');
      assert.ok(
        stalled
          .split('\n')
          .some(
            (l) =>
              l.startsWith('ganglion_consumer_batch_age_seconds{group="ganglion-trigger"') &&
              Number(l.split(' ').pop()) >= 2,
          ),
        'the batch-age gauge shows the stuck batch',
      );
      holding = false;
      for (const answer of held.splice(0)) answer();
      await waitFor(async () => (await fetch(healthz)).status === 200, {
        timeoutMs: 30_000,
        what: '/healthz to recover',
      });
    });
  },
);
