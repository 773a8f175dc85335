export {
  LocalSecretResolver,
  createSecretResolver,
  secretEnvName,
  type SecretResolver,
} from './secrets.js';
export { WorkQueue } from './work-queue.js';
export { ResourceWatcher } from './informer.js';
export { LeaderElector } from './lease.js';
export { nextStatus, jsonEqual, type DesiredCondition, type ResourceStatus } from './conditions.js';
export {
  loadKubeConfig,
  isApiError,
  describeError,
  patchStatus,
  patchFinalizers,
  type CustomResourceType,
} from './client.js';
export { KubeRest, KubeApiError, isKubeError, type KubeObject } from './rest.js';
/** The loaded kubeconfig (credentials and cluster) that a {@link KubeRest} sends with. */
export type { KubeConfig } from '@kubernetes/client-node';
export { createAdmissionServer, reloadCertificate } from './admission.js';
export { ObjectInformer, type RawObject, type ObjectEvent } from './object-informer.js';
