export * from './types.js';
export * from './keys.js';
export { validateResource, assertValidResource, validateWebhookContext, formatIssue, ValidationError, type ValidationIssue } from './validate.js';
export { parseManifests, normalizeResource, type ParsedDocument } from './manifests.js';
