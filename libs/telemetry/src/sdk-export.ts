import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';

/** Paths on our own ports that never get a server span (probes and scrapes). */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/livez', '/metrics', '/health']);

/**
 * Starts the OpenTelemetry SDK exporting traces over OTLP (sdk.ts, only when an endpoint is
 * configured): imported on demand, so that a process exporting nothing never loads the SDK.
 */
export function startExport(
  serviceName: string,
  env: Record<string, string | undefined>,
): { shutdown(): Promise<void> } {
  // Only traces go out over OTLP; metrics are scraped, logs are JSON lines on stdout.
  env['OTEL_METRICS_EXPORTER'] ??= 'none';
  env['OTEL_LOGS_EXPORTER'] ??= 'none';
  const sdk = new NodeSDK({
    serviceName,
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
  sdk.start();
  return sdk;
}
