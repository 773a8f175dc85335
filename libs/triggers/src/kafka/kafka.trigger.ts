import type { KafkaTrigger } from '@ganglion/api';
import { ExternalProducer, parseBrokers, type ExternalKafkaSettings } from '@ganglion/eventbus';
import type { Logger } from '@ganglion/telemetry';
import { ClientCache } from '../common/client.cache.js';
import {
  applyTypeParameters,
  failure,
  payloadBytes,
  TemplateError,
} from '../common/params.helper.js';
import { resolveSecret, resolveSecureHeaders, resolveTls } from '../common/secrets.helper.js';
import type { TriggerContext, TriggerPlugin } from '../trigger.js';

const SASL: Record<string, 'plain' | 'scram-sha-256' | 'scram-sha-512'> = {
  PLAIN: 'plain',
  'SCRAM-SHA-256': 'scram-sha-256',
  'SCRAM-SHA-512': 'scram-sha-512',
};

/** Header carrying the action id, so consumers can drop a re-delivered duplicate. */
export const ACTION_ID_HEADER = 'ganglion-action-id';

async function settingsOf(
  t: KafkaTrigger,
  ctx: TriggerContext,
  logger: Logger,
): Promise<ExternalKafkaSettings> {
  let brokers: string[];
  try {
    brokers = parseBrokers(t.url);
  } catch (err) {
    throw new TemplateError(`url: ${(err as Error).message}`);
  }
  const settings: ExternalKafkaSettings = { brokers, clientId: 'ganglion-kafka-trigger', logger };
  const tls = await resolveTls(ctx, t.tls);
  if (tls) settings.tls = tls;
  if (t.sasl) {
    const mechanism = SASL[t.sasl.mechanism ?? 'PLAIN'];
    if (!mechanism)
      throw new TemplateError(
        `sasl.mechanism ${t.sasl.mechanism} is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)`,
      );
    settings.sasl = {
      mechanism,
      username: t.sasl.userSecret ? await resolveSecret(ctx, t.sasl.userSecret) : '',
      password: t.sasl.passwordSecret ? await resolveSecret(ctx, t.sasl.passwordSecret) : '',
    };
  }
  return settings;
}

/**
 * Argo's `kafka` trigger: produces the payload to `topic`, keyed by `partitioningKey` (after
 * type-level parameters), with `headers` and `secureHeaders` plus the action id header. Unlike
 * Argo's fire-and-forget async producer, success means the broker acknowledged the record
 * (idempotent producer, acks=all, whatever `requiredAcks` says). `compress` uses gzip;
 * `schemaRegistry` (Avro) is reported as unsupported. Producers are cached per connection.
 */
export function createKafkaTrigger(logger: Logger): TriggerPlugin<KafkaTrigger> {
  const producers = new ClientCache<ExternalProducer>((p) => p.close());
  return {
    type: 'kafka',
    async execute(template, _trigger, events, ctx) {
      const what = `produce to ${template.topic}`;
      let settings: ExternalKafkaSettings | undefined;
      try {
        const t = applyTypeParameters(template, events);
        if (t.schemaRegistry)
          return {
            ok: false,
            error: 'kafka trigger: schemaRegistry (Avro encoding) is not supported in this build',
            retryable: false,
          };
        settings = await settingsOf(t, ctx, logger);
        const { logger: _l, ...key } = settings;
        const producer = await producers.get(key, async () => new ExternalProducer(settings!));
        const headers = {
          ...(t.headers ?? {}),
          ...(await resolveSecureHeaders(ctx, t.secureHeaders)),
          [ACTION_ID_HEADER]: ctx.actionId,
        };
        const at = await producer.send({
          topic: t.topic,
          key: t.partitioningKey ?? null,
          value: payloadBytes(t.payload, events),
          headers,
          ...(t.partitioningKey === undefined && t.partition !== undefined
            ? { partition: t.partition }
            : {}),
          ...(t.compress ? { compress: true } : {}),
        });
        return {
          ok: true,
          detail: `produced to ${t.topic} partition ${at.partition} offset ${at.offset}`,
        };
      } catch (err) {
        if (settings && !(err instanceof TemplateError)) {
          const { logger: _l, ...key } = settings;
          await producers.evict(key);
        }
        return failure(err, what);
      }
    },
    close: () => producers.close(),
  };
}
