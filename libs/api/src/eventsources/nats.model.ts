/** The `nats` event source type (Argo `NATSEventsSource`): its schema fragment and its validation rules. */
import { enumOf, obj, str } from '../schema/dsl.schema.js';
import { NATSAuth } from '../schema/common.schema.js';
import { metadata, filter, jsonBody, connectionBackoff, tls } from './source-fields.schema.js';
import { set } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

/** JetStream consumer names: no `.`, `*`, `>`, path separators or whitespace. */
const DURABLE = /^[^.*>/\\\s]+$/;

export const natsSource = {
  schema: obj(
    'NATSEventsSource',
    {
      url: str('NATS URL.'),
      subject: str('Subject.'),
      connectionBackoff,
      jsonBody,
      tls,
      metadata,
      auth: NATSAuth,
      filter,
      queue: str('Queue group.'),
      jetStream: obj(
        'NATSJetStream',
        {
          stream: str('The JetStream stream that stores `subject`.'),
          durable: str(
            'Durable pull consumer shared by the replicas (default ganglion-<namespace>-<eventSource>-<event>).',
          ),
          deliverPolicy: enumOf(
            ['all', 'new'],
            'Where a new durable consumer starts: `new` (default, messages stored from then on) or `all` (the stream from its first message).',
          ),
        },
        {
          doc: 'Ganglion extension: read `subject` through a JetStream durable pull consumer, acknowledged after the bus took the event (at-least-once), instead of core NATS.',
          required: ['stream'],
        },
      ),
    },
    { doc: 'Argo `NATSEventsSource` (type string `nats`).', required: ['url', 'subject'] },
  ),
  rules: {
    NATSEventsSource: (v, path, { c }) => {
      const js = v['jetStream'] as Record<string, unknown> | undefined;
      if (!js) return;
      if (set(v['queue']))
        c.error(
          `${path}.queue`,
          'is core NATS only: with jetStream the replicas share the durable consumer (jetStream.durable)',
        );
      if (typeof js['durable'] === 'string' && js['durable'] !== '' && !DURABLE.test(js['durable']))
        c.error(
          `${path}.jetStream.durable`,
          `"${js['durable']}" is not a JetStream consumer name (no ".", "*", ">", "/", "\\" or whitespace)`,
        );
    },
  },
} satisfies TypeModel;
