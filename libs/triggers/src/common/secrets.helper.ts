import type { SecretKeySelector, TLSConfig, ValueFromSource } from '@ganglion/api';
import type { TriggerContext } from '../trigger.js';

/** Resolves a Secret key in the sensor's namespace (values never travel through Kafka). */
export function resolveSecret(ctx: TriggerContext, selector: SecretKeySelector): Promise<string> {
  return ctx.secrets.resolve(ctx.namespace, selector);
}

/**
 * Resolves a `valueFrom` (`secureHeaders`): a Secret key, or a ConfigMap key. In directory
 * mode both are read through the same resolver (`<dir>/<name>/<key>` or the environment).
 */
function resolveValueFrom(ctx: TriggerContext, from: ValueFromSource): Promise<string> {
  const ref = from.secretKeyRef ?? from.configMapKeyRef;
  if (!ref)
    return Promise.reject(new Error('valueFrom names neither secretKeyRef nor configMapKeyRef'));
  return ctx.secrets.resolve(ctx.namespace, ref);
}

/** Resolved headers from `secureHeaders[]`. */
export async function resolveSecureHeaders(
  ctx: TriggerContext,
  headers: { name: string; valueFrom: ValueFromSource }[] | undefined,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of headers ?? []) out[h.name] = await resolveValueFrom(ctx, h.valueFrom);
  return out;
}

/** Node TLS options from Argo's `TLSConfig`. */
export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
}

export async function resolveTls(
  ctx: TriggerContext,
  tls: TLSConfig | undefined,
): Promise<TlsOptions | undefined> {
  if (!tls) return undefined;
  const out: TlsOptions = { rejectUnauthorized: !tls.insecureSkipVerify };
  if (tls.caCertSecret) out.ca = await resolveSecret(ctx, tls.caCertSecret);
  if (tls.clientCertSecret) out.cert = await resolveSecret(ctx, tls.clientCertSecret);
  if (tls.clientKeySecret) out.key = await resolveSecret(ctx, tls.clientKeySecret);
  if ((out.cert === undefined) !== (out.key === undefined))
    throw new Error('tls: clientCertSecret and clientKeySecret must be set together');
  return out;
}
