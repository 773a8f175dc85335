export { createLogger, type Logger, type LogFields, type LogLevel } from './logger.js';
export {
  TRACER_NAME,
  extractContext,
  injectContext,
  traceparentOf,
  spanContextOf,
  activeTraceId,
  inSpan,
  withSendSpan,
  markSend,
  withProcessSpan,
  startProcessSpan,
  type ProcessSpan,
  EventTraceRegistry,
  eventTraces,
  SpanKind,
  type Headers,
  type SendInfo,
  type ProcessInfo,
  type Span,
  type SpanContext,
  type Context,
  type Attributes,
} from './tracing.js';
export { shutdownTelemetry, tracingExported } from './lifecycle.js';
export {
  GanglionMetrics,
  processMetrics,
  DURATION_BUCKETS_MS,
  BATCH_SIZE_BUCKETS,
  type EventSourceLabels,
  type TriggerLabels,
} from './metrics.js';
export { AdmissionMetrics, ADMISSION_KINDS, ADMISSION_VERDICTS, ADMISSION_DURATION_BUCKETS_MS } from './admission-metrics.js';
