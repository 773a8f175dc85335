/**
 * Preload for every service: `node --import @ganglion/telemetry/register dist/main.js`. It
 * starts telemetry before the application's modules load, so the HTTP instrumentation has
 * patched `node:http` before any server or client uses it (sdk-export.ts). No ES-module loader
 * hook is registered: it ran on a loader thread of its own that cost ~25 MiB RSS per service
 * (and, wrapping every module, ~200 MiB and hundreds of milliseconds per event before it was
 * limited to the HTTP modules; docs/observability.md).
 */
import { startTelemetry } from './sdk.js';

await startTelemetry();
