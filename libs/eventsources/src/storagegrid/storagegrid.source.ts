import type { StorageGridEventSource } from '@ganglion/api';
import type { PushSource } from '../kit/push-source.js';
import { metadataField } from '../kit/event-metadata.js';

interface S3Record {
  eventName?: string;
  s3?: { object?: { key?: string } };
}

/** Whether an S3 event name matches a configured one (`s3:ObjectCreated:*` style wildcards). */
function eventMatches(configured: string, name: string): boolean {
  const bare = name.startsWith('s3:') ? name : `s3:${name}`;
  if (configured.endsWith('*')) return bare.startsWith(configured.slice(0, -1));
  return configured === bare;
}

/**
 * Argo's `storageGrid` event source: StorageGRID posts SNS-style notifications as a form
 * (`Action`, `Message` (JSON with `Records`), `TopicArn`, `Version`). Data is
 * `{notification: {Action, Message, TopicArn, Version}, metadata}`; records whose event name is
 * not in `events`, or whose key misses `filter.prefix`/`filter.suffix`, are dropped. Bucket
 * notification registration through the StorageGRID API is not supported yet.
 */
export const storageGridSource: PushSource<StorageGridEventSource> = {
  type: 'storagegrid',
  specKey: 'storageGrid',
  webhook: (config) => config.webhook,
  handle(ctx, request) {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const raw = form.get('Message');
    if (raw === null)
      return { kind: 'reject', status: 400, reason: 'notification without a Message' };
    let message: { Records?: S3Record[] };
    try {
      message = JSON.parse(raw) as typeof message;
    } catch (err) {
      return {
        kind: 'reject',
        status: 400,
        reason: `Message is not valid JSON: ${(err as Error).message}`,
      };
    }
    const record = message.Records?.[0];
    const events = ctx.config.events ?? [];
    const name = record?.eventName ?? '';
    const key = record?.s3?.object?.key ?? '';
    const f = ctx.config.filter;
    const keep =
      (events.length === 0 || events.some((e) => eventMatches(e, name))) &&
      (!f?.prefix || key.startsWith(f.prefix)) &&
      (!f?.suffix || key.endsWith(f.suffix));
    if (!keep)
      return {
        kind: 'accept',
        events: [],
        reply: { status: 200, body: 'notification filtered out' },
      };
    const notification = {
      Action: form.get('Action') ?? '',
      Message: message,
      TopicArn: form.get('TopicArn') ?? '',
      Version: form.get('Version') ?? '',
    };
    return {
      kind: 'accept',
      events: [{ data: { notification, ...metadataField(ctx.config.metadata) } }],
    };
  },
};
