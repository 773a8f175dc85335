/** Access to the telemetry the preload (register.ts) started, without loading the SDK. */
const HANDLE = Symbol.for('ganglion.telemetry');

interface Handle {
  exporting: boolean;
  serviceName: string;
  shutdown(): Promise<void>;
}

/** Flushes buffered spans and stops the SDK if the preload started it (no-op otherwise). */
export async function shutdownTelemetry(): Promise<void> {
  await (globalThis as { [HANDLE]?: Handle })[HANDLE]?.shutdown();
}
