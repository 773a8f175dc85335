import { createHash } from 'node:crypto';
import { Client } from 'minio';
import type { S3Artifact } from '@ganglion/api';
import type { BrokerSession, BrokerSourceType, CommonBrokerConfig } from '../kit/broker-source.js';

/** `host[:port]` of Argo's `endpoint`, the port defaulting by scheme. */
function hostPort(endpoint: string, secure: boolean): { endPoint: string; port: number } {
  const at = endpoint.lastIndexOf(':');
  if (at > 0 && /^\d+$/.test(endpoint.slice(at + 1)))
    return { endPoint: endpoint.slice(0, at), port: Number(endpoint.slice(at + 1)) };
  return { endPoint: endpoint, port: secure ? 443 : 80 };
}

/** The identity of a notification record: bucket, key, event and the object's sequencer. */
function recordId(record: unknown): string | undefined {
  const r = record as {
    eventName?: string;
    s3?: { bucket?: { name?: string }; object?: { key?: string; sequencer?: string } };
  };
  const o = r.s3?.object;
  if (!o?.sequencer) return undefined;
  return createHash('sha256')
    .update(`${r.s3?.bucket?.name}\0${o.key}\0${r.eventName}\0${o.sequencer}`)
    .digest('hex');
}

/**
 * Argo's `minio` event source (an `S3Artifact`): listens to the bucket's notifications
 * (MinIO's ListenBucketNotification, the `minio` client's `listenBucketNotification`) for
 * `events` with the `filter` prefix and suffix, and publishes each record as Argo's
 * `{notification: [record], metadata}`. The id derives from the bucket, key, event name and the
 * object's sequencer. Notifications are not stored by MinIO: one replica listens (kind `owned`);
 * a lost connection is reopened with backoff, and records sent meanwhile are not seen (as Argo).
 */
const minioSource: BrokerSourceType<S3Artifact> = {
  type: 'minio',
  async connect(ctx): Promise<BrokerSession> {
    const cfg = ctx.config;
    if (!cfg.bucket?.name) throw new Error('bucket.name is required');
    const [accessKey, secretKey, ca] = await Promise.all([
      ctx.optionalSecret(cfg.accessKey),
      ctx.optionalSecret(cfg.secretKey),
      ctx.optionalSecret(cfg.caCertificate),
    ]);
    const useSSL = !cfg.insecure;
    const client = new Client({
      ...hostPort(cfg.endpoint, useSSL),
      useSSL,
      accessKey: accessKey ?? '',
      secretKey: secretKey ?? '',
      ...(cfg.region ? { region: cfg.region } : {}),
      ...(ca ? { transportAgent: new (await import('node:https')).Agent({ ca }) } : {}),
    });
    if (!(await client.bucketExists(cfg.bucket.name)))
      throw new Error(`bucket ${cfg.bucket.name} does not exist`);
    const poller = client.listenBucketNotification(
      cfg.bucket.name,
      cfg.filter?.prefix ?? '',
      cfg.filter?.suffix ?? '',
      cfg.events ?? [],
    );
    poller.on('notification', (record: unknown) => {
      const id = recordId(record);
      void ctx.deliver({
        ...(id ? { naturalId: id } : {}),
        data: { notification: [record] },
        bytes: JSON.stringify(record).length,
      });
    });
    poller.on('error', (err: unknown) => ctx.fail(err));
    return {
      async close(): Promise<void> {
        poller.removeAllListeners('notification');
        poller.stop();
      },
    };
  },
};

/** The minio source for the kit, whose common options it has (its `filter` is Argo's S3 filter, not an expression). */
export const minioBrokerSource = minioSource as unknown as BrokerSourceType<CommonBrokerConfig>;
