/** The `k8s` trigger type (Argo `StandardK8STrigger`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { bool, enumOf, obj } from '../schema/dsl.schema.js';
import { parameters, ArtifactLocation } from './trigger-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const k8sTrigger = {
  schema: obj(
    'StandardK8STrigger',
    {
      source: ArtifactLocation,
      operation: enumOf(['create', 'update', 'patch', 'delete'], 'Operation; create by default.'),
      parameters,
      patchStrategy: enumOf(
        [
          'application/json-patch+json',
          'application/merge-patch+json',
          'application/strategic-merge-patch+json',
          'application/apply-patch+yaml',
        ],
        'Patch type for patch; merge patch by default.',
      ),
      liveObject: bool('Fetch the live object before update/patch.'),
    },
    {
      doc: 'Argo `StandardK8STrigger`: create, update, patch or delete a Kubernetes object.',
      required: ['source'],
    },
  ),
} satisfies TypeModel;
