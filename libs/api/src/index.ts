export * from './types.js';
export * from './keys.js';
export { validateResource, formatIssue, type ValidationIssue } from './validate.js';
export { validateEventBusUpdate } from './update-rules.js';
export { parseManifests, normalizeResource } from './manifests.js';
export { generatedFiles } from './schema/generated-files.js';
