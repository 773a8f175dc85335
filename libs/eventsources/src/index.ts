export {
  mediaType,
  valuesMap,
  parseJsonBody,
  payloadValue,
  firstHeader,
  type IncomingRequest,
  type IncomingCloudEvent,
  type PushEvent,
  type PushOutcome,
  type PushReply,
  type PushSource,
  type PushContext,
  type Deactivate,
  type ResolvedSecrets,
} from './kit/push-source.js';
export { HttpIngress, TokenBucket, DEFAULT_MAX_PAYLOAD, secretsEqual, type Route, type HttpIngressOptions } from './kit/http-ingress.js';
export { canonicalHeaderKey, goHeader, MASKED_AUTH } from './kit/headers.js';
export { buildCloudEvent, incomingCloudEvent, naturalEventId, randomEventId, type EventAttributes } from './kit/cloudevent.js';
export { PushIngressRunner, RATE_LIMIT_ANNOTATION, publishTraced, type PushIngressOptions } from './kit/push-ingress.runner.js';
export { PUSH_PRODUCER_OPTIONS, type ResourceView } from './kit/source-host.js';
export { verifyPrefixedHmac, hexDigestEqual, hmac } from './kit/signatures.js';
export { webhookSource, webhookBody } from './webhook/webhook.source.js';
export { githubSource } from './github/github.source.js';
export { githubAppJwt } from './github/github.hooks.js';
export { gitlabSource, GITLAB_EVENTS } from './gitlab/gitlab.source.js';
export { stripeSource, verifyStripeSignature } from './stripe/stripe.source.js';
export { slackSource, verifySlackSignature } from './slack/slack.source.js';
export { bitbucketSource } from './bitbucket/bitbucket.source.js';
export { bitbucketServerSource } from './bitbucketserver/bitbucketserver.source.js';
export { gerritSource } from './gerrit/gerrit.source.js';
export { snsSource, snsStringToSign, verifySnsSignature, checkSigningCertUrl, type SnsEnvelope } from './sns/sns.source.js';
export { storageGridSource } from './storagegrid/storagegrid.source.js';
export { pushSources, pushSource, sourceKinds, ownedSources, OWNED_SOURCE_TYPES, type PushSourceType, type OwnedSourceType } from './registry.js';
export { ownedEvents, eventFilter, type OwnedHost, type OwnedRunner, type OwnedEvent } from './kit/owned-source.js';
export { CalendarRunner } from './calendar/calendar.runner.js';
export { compileCalendar, goTimeString, type CalendarSchedule } from './calendar/calendar.schedule.js';
export { FileRunner } from './file/file.runner.js';
export { DirectoryWatcher, diffSnapshots, type FileOp } from './file/file.watcher.js';
export { ResourceRunner, resourceEventId, type ResourceEventData } from './resource/resource.runner.js';
export { labelSelector, labelRequirement, fieldsPredicate, validateResourceSource } from './resource/resource.selectors.js';
