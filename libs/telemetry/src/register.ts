/**
 * Preload for every service: `node --import @ganglion/telemetry/register dist/main.js`.
 * Under ESM, instrumentations patch modules only when the loader hook is registered before the
 * application loads, so this registers `@opentelemetry/instrumentation/hook.mjs` first and then
 * starts the SDK (imported dynamically, after the hook). Without a trace exporter configured
 * there is nothing to instrument and the hook is not registered: it runs on a loader thread that
 * cost ~200 MiB RSS per service and added hundreds of milliseconds per event in the sensor
 * benchmark (docs/observability.md).
 */
import { register } from 'node:module';
import { tracesConfigured } from './traces-config.js';

/**
 * The only modules an instrumentation patches (sdk.ts: HTTP server and client, undici). Without
 * this list the hook wraps every ES module the process loads, our own and kafkajs included.
 */
const INSTRUMENTED_MODULES = ['http', 'https', 'undici'];

if (tracesConfigured(process.env) && process.env['OTEL_SDK_DISABLED'] !== 'true') {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
    data: { include: INSTRUMENTED_MODULES },
  });
}
const { startTelemetry } = await import('./sdk.js');
await startTelemetry();
