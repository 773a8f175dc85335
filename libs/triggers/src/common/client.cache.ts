import { createHash } from 'node:crypto';

/**
 * Clients (producers, connections) kept per configuration, as Argo caches them per trigger:
 * the key is a hash of the resolved settings, so a changed Secret or URL gets a new client.
 */
export class ClientCache<C> {
  private readonly clients = new Map<string, Promise<C>>();

  constructor(private readonly dispose: (client: C) => Promise<void> | void) {}

  static key(settings: unknown): string {
    return createHash('sha256').update(JSON.stringify(settings)).digest('hex');
  }

  /** The client for `settings`, created once; a failed creation is forgotten so the next attempt retries. */
  get(settings: unknown, create: () => Promise<C>): Promise<C> {
    const key = ClientCache.key(settings);
    let client = this.clients.get(key);
    if (!client) {
      client = create();
      this.clients.set(key, client);
      client.catch(() => this.clients.delete(key));
    }
    return client;
  }

  /** Drops (and disposes) the client of `settings`, e.g. after a connection error. */
  async evict(settings: unknown): Promise<void> {
    const key = ClientCache.key(settings);
    const client = this.clients.get(key);
    this.clients.delete(key);
    if (client) await client.then((c) => this.dispose(c)).catch(() => undefined);
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((p) => p.then((c) => this.dispose(c)).catch(() => undefined)));
  }
}
