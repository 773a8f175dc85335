import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * The service name: `OTEL_SERVICE_NAME`, else from the entry script: a service's bundle names it
 * (dist/bundle/sensor.js → `ganglion-sensor`), any other script the package.json next to it
 * (services/sensor/dist/main.js → `ganglion-sensor`).
 */
function serviceNameFor(
  entry: string | undefined,
  env: Record<string, string | undefined>,
): string {
  if (env['OTEL_SERVICE_NAME']) return env['OTEL_SERVICE_NAME'];
  if (entry && basename(dirname(entry)) === 'bundle' && dirname(dirname(entry)).endsWith('dist'))
    return `ganglion-${basename(entry, '.js')}`;
  let dir = entry ? dirname(entry) : process.cwd();
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name)
        return pkg.name
          .replace(/^@ganglion\//, 'ganglion-')
          .replace(/^@/, '')
          .replace(/\//g, '-');
    } catch {
      // keep walking up
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return 'ganglion';
}

import { tracesConfigured } from './traces-config.js';

export interface TelemetryHandle {
  /** Whether spans are exported. */
  exporting: boolean;
  serviceName: string;
  /** Exports what is buffered, then stops. */
  shutdown(): Promise<void>;
}

const HANDLE = Symbol.for('ganglion.telemetry');
type WithHandle = { [HANDLE]?: TelemetryHandle };
let started: TelemetryHandle | undefined;

function publish(handle: TelemetryHandle): TelemetryHandle {
  (globalThis as WithHandle)[HANDLE] = handle;
  return handle;
}

/**
 * Starts OpenTelemetry for this process (once). Export is OTLP, configured by the standard
 * `OTEL_*` variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`, ...); when
 * no endpoint is set nothing is exported, but the W3C trace context still flows through
 * (an incoming trace id is kept on every hop). Metrics are not exported over OTLP: they are
 * served in Prometheus format on `/metrics` (see metrics.ts).
 */
export async function startTelemetry(
  env: Record<string, string | undefined> = process.env,
  entry = process.argv[1],
): Promise<TelemetryHandle> {
  if (started) return started;
  const serviceName = serviceNameFor(entry, env);
  if (!tracesConfigured(env) || env['OTEL_SDK_DISABLED'] === 'true') {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    started = { exporting: false, serviceName, shutdown: async () => undefined };
    return publish(started);
  }
  // The OTel SDK, its exporter and instrumentations (~20 MiB RSS) load only when spans are
  // exported (docs/benchmarks.md "Memory per service").
  const { startExport } = await import('./sdk-export.js');
  const sdk = await startExport(serviceName, env);
  let stopping: Promise<void> | undefined;
  started = {
    exporting: true,
    serviceName,
    shutdown: () => (stopping ??= sdk.shutdown().catch(() => undefined)),
  };
  return publish(started);
}
