/** The `argoWorkflow` trigger type (Argo `ArgoWorkflowTrigger`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { arr, enumOf, obj, str } from '../schema/dsl.schema.js';
import { parameters, ArtifactLocation } from './trigger-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const argoWorkflowTrigger = {
  schema: obj(
    'ArgoWorkflowTrigger',
    {
      source: ArtifactLocation,
      operation: enumOf(
        ['submit', 'submit-from', 'resubmit', 'resume', 'retry', 'suspend', 'terminate', 'stop'],
        'Operation; submit by default.',
      ),
      parameters,
      args: arr(str(), 'Extra arguments for the operation.'),
    },
    { doc: 'Argo `ArgoWorkflowTrigger`: submit or act on an Argo Workflow.', required: ['source'] },
  ),
} satisfies TypeModel;
