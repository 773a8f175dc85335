import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import type { EventBus, SecretKeySelector } from '@ganglion/api';

/**
 * How a Kafka connection is secured: TLS (Argo `TLSConfig`: CA, client certificate and key,
 * `insecureSkipVerify`; plus the server name to verify) and SASL (Argo `SASLConfig`: PLAIN,
 * SCRAM-SHA-256, SCRAM-SHA-512). The material itself (PEM text, user name, password).
 */
export interface BusSecurity {
  tls?: BusTls;
  sasl?: BusSasl;
}

interface BusTls {
  /** CA certificates (PEM) the broker's certificate must chain to; the system CAs when unset. */
  ca?: string;
  /** Client certificate (PEM), for brokers that require mutual TLS. */
  cert?: string;
  /** Client private key (PEM), with `cert`. */
  key?: string;
  /** Host name the broker's certificate must name (SNI); the broker's host by default. */
  serverName?: string;
  /** Skip verifying the broker's certificate (Argo `insecureSkipVerify`). */
  insecureSkipVerify?: boolean;
}

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface BusSasl {
  mechanism: SaslMechanism;
  username: string;
  password: string;
}

/**
 * Where a connection's security comes from: what is known without reading any secret (TLS on
 * or off, the SASL mechanism) and `load`, which reads the material. `load` runs before every
 * connection to a bootstrap broker, so rotated Secrets and files take effect on reconnection.
 */
export interface BusSecuritySource {
  tls: boolean;
  sasl?: SaslMechanism;
  load(): Promise<BusSecurity>;
}

/** The settings of the installation's own cluster (`KAFKA_TLS_*`, `KAFKA_SASL_*`; files read on each load). */
export interface InstallationSecuritySettings {
  tls?: {
    caFile?: string;
    certFile?: string;
    keyFile?: string;
    serverName?: string;
    insecureSkipVerify?: boolean;
  };
  sasl?: {
    mechanism: SaslMechanism;
    username: string;
    /** The password itself, or */
    password?: string;
    /** a file holding it (a mounted Secret; read on each load, so a rotated one takes effect). */
    passwordFile?: string;
  };
}

async function fileText(path: string | undefined, what: string): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`${what}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** The installation cluster's security from its settings (undefined: plaintext, no login). */
export function installationSecurity(
  settings: InstallationSecuritySettings,
): BusSecuritySource | undefined {
  const { tls, sasl } = settings;
  if (!tls && !sasl) return undefined;
  return {
    tls: tls !== undefined,
    ...(sasl ? { sasl: sasl.mechanism } : {}),
    async load() {
      const out: BusSecurity = {};
      if (tls) {
        out.tls = {
          ...(tls.serverName ? { serverName: tls.serverName } : {}),
          ...(tls.insecureSkipVerify ? { insecureSkipVerify: true } : {}),
        };
        const ca = await fileText(tls.caFile, 'KAFKA_TLS_CA_FILE');
        const cert = await fileText(tls.certFile, 'KAFKA_TLS_CERT_FILE');
        const key = await fileText(tls.keyFile, 'KAFKA_TLS_KEY_FILE');
        if (ca !== undefined) out.tls.ca = ca;
        if (cert !== undefined) out.tls.cert = cert;
        if (key !== undefined) out.tls.key = key;
      }
      if (sasl) {
        const password =
          (await fileText(sasl.passwordFile, 'KAFKA_SASL_PASSWORD_FILE'))?.replace(/\r?\n$/, '') ??
          sasl.password ??
          '';
        out.sasl = { mechanism: sasl.mechanism, username: sasl.username, password };
      }
      return out;
    },
  };
}

/** Reads a key of a Secret in a namespace (libs/k8s `SecretResolver` fits). */
export interface SecretLookup {
  resolve(namespace: string, selector: SecretKeySelector): Promise<string>;
}

/** Whether an EventBus names its own TLS or SASL settings (`spec.kafka.tls` / `spec.kafka.sasl`). */
export function busHasOwnSecurity(bus: EventBus): boolean {
  return bus.spec.kafka?.tls !== undefined || bus.spec.kafka?.sasl !== undefined;
}

/**
 * A short fingerprint of a bus's security settings (namespace + the Secret references, never
 * their values): two buses with the same settings share one client.
 */
export function busSecurityIdentity(bus: EventBus): string {
  const k = bus.spec.kafka;
  return createHash('sha256')
    .update(JSON.stringify([bus.metadata.namespace ?? '', k?.tls ?? null, k?.sasl ?? null]))
    .digest('hex')
    .slice(0, 16);
}

/**
 * An EventBus's own security (Argo `spec.kafka.tls` / `spec.kafka.sasl`), its Secrets read
 * in the bus's namespace where the client runs (they are never published to Kafka).
 */
export function eventBusSecurity(bus: EventBus, secrets: () => SecretLookup): BusSecuritySource {
  const k = bus.spec.kafka ?? {};
  const namespace = bus.metadata.namespace ?? 'default';
  const where = `EventBus ${namespace}/${bus.metadata.name}`;
  const named = k.sasl ? (k.sasl.mechanism ?? 'PLAIN') : undefined;
  // An unsupported mechanism fails each connection with this message (admission refuses it too).
  const unsupported =
    named !== undefined && !(SASL_MECHANISMS as readonly string[]).includes(named)
      ? `${where}: spec.kafka.sasl.mechanism ${named} is not supported (${SASL_MECHANISMS.join(', ')})`
      : undefined;
  const mechanism = unsupported ? 'PLAIN' : named;
  const read = (selector: SecretKeySelector | undefined): Promise<string | undefined> =>
    selector ? secrets().resolve(namespace, selector) : Promise.resolve(undefined);
  return {
    tls: k.tls !== undefined,
    ...(mechanism ? { sasl: mechanism as SaslMechanism } : {}),
    async load() {
      if (unsupported) throw new Error(unsupported);
      const out: BusSecurity = {};
      try {
        if (k.tls) {
          out.tls = k.tls.insecureSkipVerify ? { insecureSkipVerify: true } : {};
          const ca = await read(k.tls.caCertSecret);
          const cert = await read(k.tls.clientCertSecret);
          const key = await read(k.tls.clientKeySecret);
          if (ca) out.tls.ca = ca;
          if (cert) out.tls.cert = cert;
          if (key) out.tls.key = key;
          if ((out.tls.cert === undefined) !== (out.tls.key === undefined))
            throw new Error(
              'spec.kafka.tls: clientCertSecret and clientKeySecret must be set together',
            );
        }
        if (k.sasl)
          out.sasl = {
            mechanism: mechanism as SaslMechanism,
            username: (await read(k.sasl.userSecret)) ?? '',
            password: (await read(k.sasl.passwordSecret)) ?? '',
          };
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`);
      }
      return out;
    },
  };
}

/** Node TLS options of a connection to `host` (servername only for a host name, as Node requires). */
export function tlsOptions(tls: BusTls): ConnectionOptions {
  const out: ConnectionOptions = { rejectUnauthorized: !tls.insecureSkipVerify };
  if (tls.ca !== undefined) out.ca = tls.ca;
  if (tls.cert !== undefined) out.cert = tls.cert;
  if (tls.key !== undefined) out.key = tls.key;
  if (tls.serverName !== undefined) out.servername = tls.serverName;
  return out;
}

/** TLS errors meaning the broker's certificate is not trusted (not a transient failure). */
const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/**
 * A failure that retrying cannot fix: the broker refused the login, or its certificate is not
 * trusted. Services stop at start-up with this message instead of retrying forever.
 */
export class BusAccessError extends Error {
  override readonly name = 'BusAccessError';
}

/**
 * Classifies an error of a Kafka connection: a {@link BusAccessError} with one clear message
 * for a refused login or an untrusted certificate, undefined for anything else (a broker that
 * is down or slow is retried by the callers).
 */
export function busAccessError(err: unknown, brokers: string[]): BusAccessError | undefined {
  const seen = new Set<unknown>();
  for (
    let e = err as { name?: string; message?: string; code?: string; cause?: unknown };
    e && !seen.has(e);
    e = e.cause as typeof e
  ) {
    seen.add(e);
    const message = String(e.message ?? '')
      .split('\n')[0]!
      .trim();
    if (
      e.name === 'KafkaJSSASLAuthenticationError' ||
      /SASL .*authentication failed|Authentication failed/i.test(message)
    )
      return new BusAccessError(
        `Kafka at ${brokers.join(',')} refused the login: ${message.replace(/^SASL \S+ authentication failed: /, '')}`,
      );
    if (/mechanism is not supported by the server|UNSUPPORTED_SASL_MECHANISM/i.test(message))
      return new BusAccessError(`Kafka at ${brokers.join(',')}: ${message}`);
    if (/alert certificate required|alert handshake failure|alert bad certificate/i.test(message))
      return new BusAccessError(
        `Kafka at ${brokers.join(',')} refused the TLS handshake (${message}): it may require a client certificate (KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE, or spec.kafka.tls.clientCertSecret and clientKeySecret)`,
      );
    if ((e.code && UNTRUSTED_CODES.has(e.code)) || /certificate|self[- ]signed/i.test(message))
      return new BusAccessError(
        `Kafka at ${brokers.join(',')}: the broker's TLS certificate is not trusted (${e.code ?? message}): check the CA (KAFKA_TLS_CA_FILE or spec.kafka.tls.caCertSecret) and the server name`,
      );
  }
  return undefined;
}
