import type { NATSTrigger } from '@ganglion/api';
import {
  connect,
  credsAuthenticator,
  headers as natsHeaders,
  nkeyAuthenticator,
  type ConnectionOptions,
  type NatsConnection,
} from 'nats';
import { ClientCache } from '../common/client.cache.js';
import { applyTypeParameters, failure, payloadBytes } from '../common/params.helper.js';
import { resolveSecret, resolveTls } from '../common/secrets.helper.js';
import type { TriggerContext, TriggerPlugin } from '../trigger.js';

async function optionsOf(t: NATSTrigger, ctx: TriggerContext): Promise<ConnectionOptions> {
  const opts: ConnectionOptions = {
    servers: t.url,
    name: 'ganglion-trigger',
    timeout: 5000,
    maxReconnectAttempts: 10,
    reconnectTimeWait: 500,
  };
  const tls = await resolveTls(ctx, t.tls);
  if (tls)
    opts.tls = {
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
      ...(tls.rejectUnauthorized ? {} : { rejectUnauthorized: false }),
    } as ConnectionOptions['tls'];
  const auth = t.auth;
  if (auth?.basic) {
    if (auth.basic.username) opts.user = await resolveSecret(ctx, auth.basic.username);
    if (auth.basic.password) opts.pass = await resolveSecret(ctx, auth.basic.password);
  } else if (auth?.token) opts.token = await resolveSecret(ctx, auth.token);
  else if (auth?.nkey)
    opts.authenticator = nkeyAuthenticator(
      new TextEncoder().encode((await resolveSecret(ctx, auth.nkey)).trim()),
    );
  else if (auth?.credential)
    opts.authenticator = credsAuthenticator(
      new TextEncoder().encode(await resolveSecret(ctx, auth.credential)),
    );
  return opts;
}

/**
 * Argo's `nats` trigger: publishes the payload to `subject` on core NATS (`tls`, `auth`
 * basic/token/nkey/credential). Success means the server processed the publish (a flush
 * round trip after it). The action id travels as the `Nats-Msg-Id` header, which JetStream
 * uses to drop duplicates when a stream captures the subject. Connections are cached.
 */
export function createNatsTrigger(): TriggerPlugin<NATSTrigger> {
  const connections = new ClientCache<NatsConnection>((nc) => nc.close());
  return {
    type: 'nats',
    async execute(template, _trigger, events, ctx) {
      const what = `publish to ${template.subject}`;
      let opts: ConnectionOptions | undefined;
      try {
        const t = applyTypeParameters(template, events);
        opts = await optionsOf(t, ctx);
        const nc = await connections.get(opts, () => connect(opts));
        if (nc.isClosed()) throw new Error('connection closed');
        const h = natsHeaders();
        h.set('Nats-Msg-Id', ctx.actionId);
        nc.publish(t.subject, payloadBytes(t.payload, events), { headers: h });
        await nc.flush();
        return { ok: true, detail: `published to ${t.subject}` };
      } catch (err) {
        if (opts) await connections.evict(opts);
        return failure(err, what);
      }
    },
    close: () => connections.close(),
  };
}
