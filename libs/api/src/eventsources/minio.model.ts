/** The `minio` event source type (Argo `S3Artifact`): its schema fragment and its validation rules. */
import { withDoc } from '../schema/dsl.schema.js';
import { S3Artifact } from '../schema/common.schema.js';
import { set } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const minioSource = {
  schema: withDoc(
    S3Artifact,
    'Argo `S3Artifact` as a MinIO bucket-notification source (type string `minio`).',
  ),
  rules: {
    // Argo's minio validator needs credentials; S3Artifact as a trigger's artifact location does not
    // (this rule is dispatched for EventSources only).
    S3Artifact: (v, path, { c }) => {
      for (const k of ['accessKey', 'secretKey'])
        if (!set(v[k])) c.error(`${path}.${k}`, 'is required');
    },
  },
} satisfies TypeModel;
