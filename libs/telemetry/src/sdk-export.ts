import { createRequire, syncBuiltinESMExports } from 'node:module';
import { context, diag, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  processDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';

/** Paths on our own ports that never get a server span (probes and scrapes). */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/livez', '/metrics', '/health']);

type Env = Record<string, string | undefined>;

/** A non-negative number from `env[key]`, or undefined (unset or invalid: the SDK default). */
function envNumber(env: Env, key: string): number | undefined {
  const raw = env[key]?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (Number.isFinite(n) && n >= 0) return n;
  diag.warn(`${key}=${raw} is not a non-negative number; using the default`);
  return undefined;
}

/** `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`; default parent-based always-on. */
export function samplerFromEnv(env: Env): Sampler {
  const ratio = (): number => {
    const r = envNumber(env, 'OTEL_TRACES_SAMPLER_ARG');
    return r !== undefined && r <= 1 ? r : 1;
  };
  const name = env['OTEL_TRACES_SAMPLER']?.trim() || 'parentbased_always_on';
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    default:
      diag.warn(`unknown OTEL_TRACES_SAMPLER "${name}"; using parentbased_always_on`);
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * The span exporter `OTEL_TRACES_EXPORTER` (`otlp` by default, or `console`) names; for OTLP,
 * the exporter of `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`
 * (`http/protobuf` by default, `http/json`, `grpc`), imported on demand: only the one in use is
 * loaded (gRPC's client alone is several MiB). Each reads its endpoint, headers and timeout
 * from the standard `OTEL_EXPORTER_OTLP_*` variables itself.
 */
export async function exporterFromEnv(env: Env): Promise<SpanExporter> {
  const name = env['OTEL_TRACES_EXPORTER']?.split(',')[0]?.trim() || 'otlp';
  if (name === 'console') return new ConsoleSpanExporter();
  if (name !== 'otlp') diag.warn(`unsupported OTEL_TRACES_EXPORTER "${name}"; using otlp`);
  const protocol =
    (env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] ?? env['OTEL_EXPORTER_OTLP_PROTOCOL'])?.trim() ||
    'http/protobuf';
  switch (protocol) {
    case 'grpc':
      return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
    default:
      if (protocol !== 'http/protobuf')
        diag.warn(`unsupported OTLP protocol "${protocol}"; using http/protobuf`);
      return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  }
}

/**
 * Starts trace export (sdk.ts, only when an exporter is configured): imported on demand, so
 * that a process exporting nothing never loads the SDK. A tracer provider with a batch span
 * processor, the exporter the environment names, W3C trace context and baggage, and the HTTP
 * server/client and undici (fetch) instrumentations.
 *
 * Not `NodeSDK`: it loads every exporter of every signal (gRPC, Zipkin, Prometheus, logs and
 * metrics SDKs) whatever is configured. And no ES-module loader hook: the HTTP instrumentation
 * patches `http.Server.prototype.emit` and `http.request`, which the ES-module `node:http`
 * shares with `require('http')`; undici's is diagnostics channels. Both cost ~30 MiB RSS per
 * process (docs/benchmarks.md "Memory with tracing on").
 */
export async function startExport(
  serviceName: string,
  env: Env,
): Promise<{ shutdown(): Promise<void> }> {
  const resource = defaultResource()
    .merge(detectResources({ detectors: [hostDetector, processDetector, envDetector] }))
    .merge(resourceFromAttributes({ 'service.name': serviceName }));
  const provider = new TracerProvider({
    resource,
    sampler: samplerFromEnv(env),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: await exporterFromEnv(env),
        maxQueueSize: envNumber(env, 'OTEL_BSP_MAX_QUEUE_SIZE'),
        scheduledDelayMillis: envNumber(env, 'OTEL_BSP_SCHEDULE_DELAY'),
        exportTimeoutMillis: envNumber(env, 'OTEL_BSP_EXPORT_TIMEOUT'),
        maxExportBatchSize: envNumber(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  );
  trace.setGlobalTracerProvider(provider);
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => QUIET_PATHS.has((req.url ?? '/').split('?')[0]!),
        // Outgoing calls are the trigger's, made with fetch (undici); the OTLP exporter's own
        // requests carry no parent and must not make spans.
        requireParentforOutgoingSpans: true,
      }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
    ],
  });
  // The HTTP instrumentation patches `http`/`https` when they are required: require them now
  // (before the service's modules load) and copy the patched functions to their ES-module
  // named exports.
  const require = createRequire(import.meta.url);
  require('node:http');
  require('node:https');
  syncBuiltinESMExports();
  return {
    shutdown: async () => {
      unregister();
      await provider.shutdown();
    },
  };
}
