/** The `log` trigger type (Argo `LogTrigger`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { int, obj } from '../schema/dsl.schema.js';
import type { TypeModel } from '../type-model.js';

export const logTrigger = {
  schema: obj(
    'LogTrigger',
    { intervalSeconds: int('Log at most once per this many seconds.', { minimum: 0 }) },
    { doc: 'Argo `LogTrigger`: log the events.' },
  ),
} satisfies TypeModel;
