export * from './types.js';
export * from './keys.js';
export { validateResource, assertValidResource, validateWebhookContext, formatIssue, ValidationError, type ValidationIssue } from './validate.js';
export { parseManifests, normalizeResource, type ParsedDocument } from './manifests.js';
export { generatedFiles } from './schema/generated-files.js';
export { RESOURCE_SCHEMAS, type ResourceKindSchema } from './schema/resources.schema.js';
export { renderCrds, renderJsonSchemas } from './schema/json-schema.render.js';
export { renderTypeScript } from './schema/typescript.render.js';
export type { Node as SchemaNode, ObjectNode as SchemaObjectNode } from './schema/dsl.schema.js';
