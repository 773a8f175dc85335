/** The `sftp` event source type (Argo `SFTPEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { enumOf, obj, str } from '../schema/dsl.schema.js';
import { WatchPathConfig, secret } from '../schema/common.schema.js';
import { metadata, filter } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const sftpSource = {
  schema: obj(
    'SFTPEventSource',
    {
      eventType: enumOf(['CREATE', 'WRITE', 'REMOVE', 'RENAME', 'CHMOD'], 'Operation to watch.'),
      watchPathConfig: WatchPathConfig,
      username: secret('User name.'),
      password: secret('Password.'),
      sshKeySecret: secret('SSH private key.'),
      address: secret('host:port of the SFTP server.'),
      metadata,
      filter,
      pollIntervalDuration: str('Polling interval, a Go duration.', { format: 'duration' }),
    },
    {
      doc: 'Argo `SFTPEventSource` (type string `sftp`).',
      required: ['eventType', 'watchPathConfig'],
    },
  ),
} satisfies TypeModel;
