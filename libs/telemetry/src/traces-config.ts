/** True when the OTEL_* environment names somewhere to send traces. */
export function tracesConfigured(env: Record<string, string | undefined>): boolean {
  const exporter = env['OTEL_TRACES_EXPORTER'];
  if (exporter) return exporter !== 'none';
  return Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
}
