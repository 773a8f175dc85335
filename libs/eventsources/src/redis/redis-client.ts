import { Redis, type RedisOptions } from 'ioredis';
import type { SecretKeySelector, TLSConfig } from '@ganglion/api';
import type { BrokerContext } from '../kit/broker-source.js';

/** The connection fields `redis` and `redisStream` share. */
interface RedisConnectionConfig {
  hostAddress: string;
  password?: SecretKeySelector;
  username?: string;
  db?: number;
  tls?: TLSConfig;
}

/**
 * A Redis connection from Argo's fields (`hostAddress`, `username`, `password` Secret, `db`,
 * `tls`), connected (rejects when it cannot) and without ioredis's own reconnection: a lost
 * connection is reported to the kit (`ctx.fail`), which reconnects with `connectionBackoff`.
 */
export async function redisConnection<C extends RedisConnectionConfig>(
  ctx: BrokerContext<C>,
  name: string,
): Promise<Redis> {
  const cfg = ctx.config;
  const at = cfg.hostAddress.lastIndexOf(':');
  if (at <= 0) throw new Error(`hostAddress "${cfg.hostAddress}" is not host:port`);
  const options: RedisOptions = {
    host: cfg.hostAddress.slice(0, at),
    port: Number(cfg.hostAddress.slice(at + 1)),
    db: cfg.db ?? 0,
    connectionName: name,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    connectTimeout: 5000,
  };
  if (cfg.username) options.username = cfg.username;
  const password = await ctx.optionalSecret(cfg.password);
  if (password) options.password = password;
  const tls = await ctx.tls(cfg.tls);
  if (tls) options.tls = tls;
  const client = new Redis(options);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
