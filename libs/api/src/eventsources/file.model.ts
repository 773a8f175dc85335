/** The `file` event source type (Argo `FileEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { bool, enumOf, obj } from '../schema/dsl.schema.js';
import { WatchPathConfig } from '../schema/common.schema.js';
import { metadata, filter } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const fileSource = {
  schema: obj(
    'FileEventSource',
    {
      eventType: enumOf(
        ['CREATE', 'WRITE', 'REMOVE', 'RENAME', 'CHMOD'],
        'File system operation to watch.',
      ),
      watchPathConfig: WatchPathConfig,
      polling: bool('Poll instead of using inotify.'),
      metadata,
      filter,
    },
    {
      doc: 'Argo `FileEventSource` (type string `file`).',
      required: ['eventType', 'watchPathConfig'],
    },
  ),
} satisfies TypeModel;
