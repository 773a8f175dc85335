import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Logger } from '@ganglion/telemetry';
import {
  busAccessError,
  tlsOptions,
  type BusSecurity,
  type BusSecuritySource,
} from './security.js';

/**
 * The only place that constructs the Kafka client (kafkajs). Everything above talks to the
 * bus through this library, so the client can be replaced without touching services.
 */
interface BusConnection {
  /** Broker list, `host:port` each. */
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** How long a connection attempt may take (ms). */
  connectionTimeoutMs?: number;
  /** TLS and SASL of the connection (plaintext without login when unset). */
  security?: BusSecuritySource;
}

/**
 * Retry policy for transactional producers. A transaction begun right after the previous one
 * committed is answered CONCURRENT_TRANSACTIONS until the coordinator has written the previous
 * one's markers, which takes a few milliseconds. With the client's default first retry (100 ms)
 * every back-to-back transaction waited ≈ 100 ms (measured: p50 107 ms per transaction); retrying
 * after 3 ms, doubling, gives p50 ≈ 8–10 ms, and the doubling still covers a coordinator that is
 * loading for a few seconds (Java's client uses a short fixed backoff for the same reason).
 */
export const TRANSACTION_RETRY = {
  retries: 12,
  initialRetryTime: 3,
  maxRetryTime: 1000,
  multiplier: 2,
} as const;

/**
 * Group timing of a consumer alone in a group of its own (readers of whole topics: resource
 * stores, changelog mirrors, state readers). After the broker restarts, a reader that kafkajs
 * restarts joins as a new member, and the group waits for the old, dead member until its
 * session expires: kafkajs's default 30 s session left join-state restores and resource
 * updates waiting that long. Nothing is shared with other members, so a short session costs
 * nothing but heartbeats.
 */
export const PRIVATE_GROUP_TIMING = {
  sessionTimeout: 6_000,
  rebalanceTimeout: 12_000,
  // Alone in its group, the member has no rebalance to learn of quickly: a heartbeat every 2 s
  // (a third of the session, Kafka's usual ratio) keeps it alive at a third of the requests.
  heartbeatInterval: 2_000,
} as const;

/**
 * The longest a fetch of an idle consumer waits at the broker (ms): once fetches have returned
 * nothing for a second, the consumer's wait doubles from its `maxWaitTimeInMs` up to this
 * (patched kafkajs, `maxIdleWaitTimeInMs`), and any record resets it. An idle consumer then asks
 * the broker once a second instead of every 10 ms. A waiting fetch costs no latency: the broker
 * answers it as soon as records arrive, and for read_committed as soon as a transaction commits
 * (measured with a 2 s wait: the records of a transaction committed every ~3 s reached the
 * consumer 4–53 ms after the commit, Kafka 3.9.1 and 4.4.0). Heartbeats go out between fetches,
 * so this stays well inside the groups' 6 s sessions; a member that is idle learns of a
 * rebalance up to this much later.
 */
export const IDLE_FETCH_WAIT_MS = 1_000;

export function parseBrokers(value: string): string[] {
  const brokers = value
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0)
    throw new Error('no Kafka brokers given (expected host:port[,host:port...])');
  for (const b of brokers)
    if (!/^[^:\s]+:\d{1,5}$/.test(b))
      throw new Error(`"${b}" is not a Kafka broker address (host:port)`);
  return brokers;
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** The security of each client {@link createKafka} made (for the clients of this library that open their own sockets). */
const securityOf = new WeakMap<Kafka, BusSecuritySource>();

/** The security a client was made with (undefined: plaintext without login). */
export function kafkaSecurity(kafka: Kafka): BusSecuritySource | undefined {
  return securityOf.get(kafka);
}

/**
 * Fills the client's TLS and SASL settings in place with freshly loaded material. kafkajs keeps
 * the `ssl` and `sasl` objects it was given and reads them on each new connection, and calls the
 * `brokers` function before every connection to a bootstrap broker: loading there means the
 * Secrets are read before the first connection and again on reconnection (rotation), while
 * every caller keeps a synchronous client.
 */
function apply(
  loaded: BusSecurity,
  ssl: ConnectionOptions | undefined,
  sasl: Record<string, string> | undefined,
): void {
  if (ssl) {
    for (const k of Object.keys(ssl)) delete (ssl as Record<string, unknown>)[k];
    Object.assign(ssl, tlsOptions(loaded.tls ?? {}));
  }
  if (sasl && loaded.sasl) {
    sasl['username'] = loaded.sasl.username;
    sasl['password'] = loaded.sasl.password;
  }
}

export function createKafka(conn: BusConnection): Kafka {
  const log = conn.logger.child({ component: 'kafka' });
  const security = conn.security;
  const ssl: ConnectionOptions | undefined = security?.tls ? {} : undefined;
  const sasl: Record<string, string> | undefined = security?.sasl
    ? { mechanism: security.sasl.toLowerCase(), username: '', password: '' }
    : undefined;
  const config: KafkaConfig = {
    clientId: conn.clientId,
    brokers: security
      ? async () => {
          apply(await security.load(), ssl, sasl);
          return conn.brokers;
        }
      : conn.brokers,
    ...(ssl ? { ssl } : {}),
    ...(sasl ? { sasl: sasl as unknown as SASLOptions } : {}),
    connectionTimeout: conn.connectionTimeoutMs ?? 1000,
    requestTimeout: 10_000,
    // Fail fast: callers decide what a failure means (503 at ingress, retry in loops).
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        // kafkajs reports every retriable broker error (coordinator loading, refused
        // connections) as an error; callers see real failures as rejected promises, so the
        // client's own chatter stays at debug level except consumer crashes.
        const lvl = LEVELS[level] ?? 'info';
        log[/crash/i.test(String(message)) ? lvl : 'debug'](String(message), rest);
      },
  };
  const kafka = new Kafka(config);
  if (security) securityOf.set(kafka, security);
  return kafka;
}

/**
 * Connects once to the cluster and reports a refused login or an untrusted certificate as a
 * {@link BusAccessError} (one clear message; retrying cannot fix it). A broker that cannot be
 * reached is not an error here: the services' loops wait and retry for it.
 */
export async function checkBusAccess(kafka: Kafka, brokers: string[]): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } catch (err) {
    const access = busAccessError(err, brokers);
    if (access) throw access;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
