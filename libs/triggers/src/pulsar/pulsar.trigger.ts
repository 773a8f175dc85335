import { createHash } from 'node:crypto';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { PulsarTrigger } from '@ganglion/api';
import { ClientCache } from '../common/client.cache.js';
import {
  applyTypeParameters,
  failure,
  payloadBytes,
  TemplateError,
} from '../common/params.helper.js';
import { resolveSecret, resolveTls } from '../common/secrets.helper.js';
import type { TriggerContext, TriggerPlugin } from '../trigger.js';
import { isPermanent, PulsarConnection, type PulsarConnectOptions } from './pulsar.connection.js';

/** Deadline of one connection step or broker request (ms). */
const REQUEST_TIMEOUT_MS = 10_000;
/** Lookups may redirect; more hops than this is a broken cluster. */
const MAX_LOOKUP_HOPS = 5;

/**
 * The producer name of an action: Pulsar's deduplication keeps, per producer name, the highest
 * sequence id it persisted, so one name per action (sequence id 0) makes a repeated action a
 * duplicate the broker drops.
 */
function producerNameOf(actionId: string): string {
  return `ganglion-${createHash('sha256').update(actionId).digest('hex').slice(0, 40)}`;
}

/** Connection settings of a template: the URL's scheme decides TLS, as in Argo. */
async function connectOptions(
  t: PulsarTrigger,
  ctx: TriggerContext,
): Promise<Omit<PulsarConnectOptions, 'url'> & { ssl: boolean }> {
  if (t.authAthenzParams || t.authAthenzSecret)
    throw new TemplateError(
      'Athenz authentication (authAthenzParams/authAthenzSecret) is not supported; use authTokenSecret',
    );
  const ssl = t.url.startsWith('pulsar+ssl://');
  if (!ssl && !t.url.startsWith('pulsar://'))
    throw new TemplateError(`url must start with pulsar:// or pulsar+ssl://, got "${t.url}"`);
  const out: Omit<PulsarConnectOptions, 'url'> & { ssl: boolean } = {
    ssl,
    timeoutMs: REQUEST_TIMEOUT_MS,
  };
  if (t.authTokenSecret) out.token = (await resolveSecret(ctx, t.authTokenSecret)).trim();
  if (ssl) {
    const tls: TlsConnectionOptions = {
      rejectUnauthorized: t.tlsAllowInsecureConnection !== true,
    };
    const common = await resolveTls(ctx, t.tls);
    if (common?.ca) tls.ca = common.ca;
    if (common?.cert) Object.assign(tls, { cert: common.cert, key: common.key });
    if (common && !common.rejectUnauthorized) tls.rejectUnauthorized = false;
    if (t.tlsTrustCertsSecret) tls.ca = await resolveSecret(ctx, t.tlsTrustCertsSecret);
    if (t.tlsValidateHostname === false) tls.checkServerIdentity = () => undefined;
    out.tls = tls;
  }
  return out;
}

/**
 * Argo's `pulsar` trigger: publishes the payload (Argo's `payload[]` as JSON) to `topic` at
 * `url` (`pulsar://` or `pulsar+ssl://` with `tlsTrustCertsSecret`, `tlsAllowInsecureConnection`,
 * `tlsValidateHostname` or `tls`; `authTokenSecret` as a JWT). Success means the broker
 * persisted the message (its send receipt). Each action publishes as sequence id 0 of a producer
 * named after the action id ({@link producerNameOf}): on a namespace or topic with
 * deduplication, a repeated action is not stored twice. Connections are cached per URL and
 * credentials; a failed action drops its connection.
 */
export function createPulsarTrigger(): TriggerPlugin<PulsarTrigger> {
  const connections = new ClientCache<PulsarConnection>(async (c) => c.close());

  /** The connection serving `topic`: the service URL's, or its owner's after a lookup. */
  async function connectionFor(
    topic: string,
    url: string,
    opts: Omit<PulsarConnectOptions, 'url'> & { ssl: boolean },
    keys: unknown[],
  ): Promise<PulsarConnection> {
    const open = async (key: PulsarConnectOptions): Promise<PulsarConnection> => {
      keys.push(key);
      const conn = await connections.get(key, () => PulsarConnection.open(key));
      if (!conn.closed) return conn;
      await connections.evict(key);
      return connections.get(key, () => PulsarConnection.open(key));
    };
    const { ssl, ...base } = opts;
    let current = await open({ ...base, url });
    let authoritative = false;
    for (let hop = 0; hop < MAX_LOOKUP_HOPS; hop++) {
      const where = await current.lookup(topic, authoritative, ssl);
      if (where.proxy) return open({ ...base, url, proxyToBroker: new URL(where.url).host });
      if (!where.redirect) return where.url === url ? current : open({ ...base, url: where.url });
      current = await open({ ...base, url: where.url });
      authoritative = true;
    }
    throw new Error(`the lookup of ${topic} redirected more than ${MAX_LOOKUP_HOPS} times`);
  }

  return {
    type: 'pulsar',
    async execute(template, _trigger, events, ctx) {
      const what = `publish to Pulsar topic ${template.topic}`;
      const keys: unknown[] = [];
      try {
        const t = applyTypeParameters(template, events);
        if (!t.topic) throw new TemplateError('topic is empty');
        const opts = await connectOptions(t, ctx);
        const payload = payloadBytes(t.payload, events);
        const conn = await connectionFor(t.topic, t.url, opts, keys);
        const producerName = producerNameOf(ctx.actionId);
        const r = await conn.publishOnce(t.topic, producerName, payload, {
          'ganglion-action-id': ctx.actionId,
        });
        return {
          ok: true,
          detail: r.published
            ? `published to ${t.topic} (message ${r.messageId}, producer ${producerName})`
            : `already published to ${t.topic} (producer ${producerName}): the broker dropped the repeat`,
        };
      } catch (err) {
        for (const key of keys) await connections.evict(key);
        if (isPermanent(err))
          return { ok: false, error: `${what}: ${(err as Error).message}`, retryable: false };
        return failure(err, what);
      }
    },
    close: () => connections.close(),
  };
}
