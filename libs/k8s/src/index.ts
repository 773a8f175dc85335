export { LocalSecretResolver, KubernetesSecretResolver, createSecretResolver, SecretNotFoundError, secretEnvName, type SecretResolver } from './secrets.js';
export { WorkQueue, type WorkQueueOptions, type KeyHandler } from './work-queue.js';
export { ResourceWatcher, objectKey, resourcePath, type ResourceRef, type WatchOptions } from './informer.js';
export { LeaderElector, type LeaderElectionOptions } from './lease.js';
export { mergeConditions, nextStatus, isReady, jsonEqual, rfc3339, type Condition, type ConditionStatus, type DesiredCondition, type ResourceStatus } from './conditions.js';
export { loadKubeConfig, isApiError, describeError, patchStatus, patchFinalizers, MERGE_PATCH, type CustomResourceType } from './client.js';
export { reviewAdmission, createAdmissionServer, type AdmissionRequest, type AdmissionResponse, type AdmissionReview, type AdmissionServerOptions } from './admission.js';
export { ObjectInformer, listObjects, ApiStatusError, type RawObject, type ObjectEvent, type ObjectEventType, type ObjectInformerOptions } from './object-informer.js';
