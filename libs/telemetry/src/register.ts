/**
 * Preload for every service: `node --import @ganglion/telemetry/register dist/main.js`.
 * Under ESM, instrumentations patch modules only when the loader hook is registered before the
 * application loads, so this registers `@opentelemetry/instrumentation/hook.mjs` first and then
 * starts the SDK (imported dynamically, after the hook).
 */
import { register } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
const { startTelemetry } = await import('./sdk.js');
startTelemetry();
