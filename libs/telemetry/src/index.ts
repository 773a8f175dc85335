export { createLogger, type Logger, type LogLevel } from './logger.js';
export { redactUrls } from './redact.js';
export {
  traceparentOf,
  spanContextOf,
  inSpan,
  withSendSpan,
  markSend,
  withProcessSpan,
  startProcessSpan,
  type SpanContext,
  type Context,
} from './tracing.js';
export { shutdownTelemetry } from './lifecycle.js';
export {
  GanglionMetrics,
  processMetrics,
  type EventSourceLabels,
  type TriggerLabels,
} from './metrics.js';
export { AdmissionMetrics } from './admission-metrics.js';
