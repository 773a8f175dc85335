export { PushIngressRunner } from './kit/push-ingress.runner.js';
export { DEFAULT_INGRESS_LIMITS, type IngressLimits } from './kit/ingress-limits.js';
export { DEFAULT_MASKED_HEADERS } from './kit/headers.js';
export { SNS_URL_PATTERN } from './sns/sns.source.js';
export { PUSH_PRODUCER_OPTIONS } from './kit/source-host.js';
export {
  pushSources,
  ownedSources,
  groupSources,
  type PushSourceType,
  type OwnedSourceType,
  type GroupSourceType,
} from './registry.js';
export { type OwnedRunner, type OwnedHost } from './kit/owned-source.js';
