import { ownedEvents, type OwnedEvent, type OwnedHost, type OwnedRunner } from './owned-source.js';

/** What an {@link OwnedEventsRunner} keeps per running event: at least the fingerprint it was started with. */
export interface RunningEvent {
  fingerprint: string;
}

/**
 * The skeleton of an owned source type's runner (calendar, file, resource): while this replica
 * owns the type, keeps one running thing per configured event of `specKey` in step with the
 * resource store — started when the event appears, stopped when it goes, restarted when its
 * fingerprint (configuration or bus) changes. Store changes are applied one at a time; an event
 * whose start throws is logged and retried every 5 s until it starts. Subclasses say how to
 * start and stop one event.
 */
export abstract class OwnedEventsRunner<C, R extends RunningEvent> implements OwnedRunner {
  /** The running events by `<ns>/<eventSource>:<event>`. */
  protected readonly entries = new Map<string, R>();
  /** True between start() and stop(). */
  protected active = false;
  private unsubscribe: (() => void) | undefined;
  private applying: Promise<void> = Promise.resolve();
  private retry: NodeJS.Timeout | undefined;

  constructor(
    protected readonly host: OwnedHost,
    /** The EventSource spec field of the type (`calendar`, `file`, `resource`). */
    private readonly specKey: string,
    /** How the logs name the type's events (`calendar`, `file source`). */
    private readonly what: string,
  ) {}

  protected now(): number {
    return (this.host.now ?? Date.now)();
  }

  /** Starts one event; throwing makes it retried in 5 s. */
  protected abstract startEvent(ev: OwnedEvent<C>): Promise<R>;
  /** Stops one running event (it was removed or changed). */
  protected abstract stopEvent(entry: R): Promise<void>;

  /** On stop(), after store changes stop being applied: stops every running event (one by one unless overridden). */
  protected async stopAll(entries: R[]): Promise<void> {
    for (const e of entries) await this.stopEvent(e);
  }

  async start(): Promise<void> {
    this.active = true;
    this.unsubscribe = this.host.store.onChange(() =>
      this.reapply(`applying ${this.what}s failed`),
    );
    this.applying = this.apply();
    await this.applying;
  }

  async stop(): Promise<void> {
    this.active = false;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.unsubscribe?.();
    await this.applying.catch(() => undefined);
    const entries = [...this.entries.values()];
    this.entries.clear();
    await this.stopAll(entries);
  }

  private reapply(failure: string): void {
    this.applying = this.applying
      .then(() => this.apply())
      .catch((err: unknown) => this.host.logger.error(failure, { error: err }));
  }

  private async apply(): Promise<void> {
    if (!this.active) return;
    const wanted = ownedEvents<C>(this.host.store, this.specKey, this.host.logger);
    for (const [id, entry] of [...this.entries]) {
      if (wanted.some((x) => x.id === id && x.fingerprint === entry.fingerprint)) continue;
      await this.stopEvent(entry);
      this.entries.delete(id);
    }
    for (const ev of wanted) {
      if (this.entries.has(ev.id) || !this.active) continue;
      try {
        this.entries.set(ev.id, await this.startEvent(ev));
      } catch (err) {
        this.host.logger.error(`${this.what} not started; retrying in 5 s`, {
          event: ev.id,
          error: err,
        });
        this.retryLater();
      }
    }
  }

  /** Re-applies after a failure to start some event (the bus was unreachable, say). */
  private retryLater(): void {
    if (this.retry || !this.active) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.reapply('re-applying failed');
    }, 5000);
  }
}
