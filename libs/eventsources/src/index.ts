export type { IncomingRequest, PushOutcome, PushSource } from './kit/push-source.js';
export { HttpIngress, DEFAULT_MAX_PAYLOAD, secretsEqual, type Route, type HttpIngressOptions } from './kit/http-ingress.js';
export { canonicalHeaderKey, goHeader, MASKED_AUTH } from './kit/headers.js';
export { webhookSource } from './webhook/webhook.source.js';
export { pushSources } from './registry.js';
