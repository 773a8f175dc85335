import { isAbsolute, join } from 'node:path';
import { eventBusTopic, type FileEventSource } from '@ganglion/api';
import { compileRe2, re2Find } from '@ganglion/core';
import { encodeCloudEvent } from '@ganglion/eventbus';
import { publishTraced } from '../kit/push-ingress.runner.js';
import { buildCloudEvent, randomEventId } from '../kit/cloudevent.js';
import { eventFilter, ownedEvents, type OwnedEvent, type OwnedHost, type OwnedRunner } from '../kit/owned-source.js';
import { DirectoryWatcher } from './file.watcher.js';

/**
 * Runs the `file` events while this replica owns the type: watches `watchPathConfig.directory`
 * (inotify, or polling with `polling: true`) and publishes `{name, op, metadata}` (Argo's
 * `fsevent.Event`: `name` the file's path) for operations equal to `eventType` on files named
 * `path`, or matching `pathRegexp`.
 */
export class FileRunner implements OwnedRunner {
  private readonly watchers = new Map<string, { fingerprint: string; watcher: DirectoryWatcher }>();
  private unsubscribe: (() => void) | undefined;
  private applying: Promise<void> = Promise.resolve();
  private running = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: OwnedHost,
    private readonly pollMs = 1000,
  ) {}

  async start(): Promise<void> {
    this.running = true;
    this.unsubscribe = this.host.store.onChange(() => {
      this.applying = this.applying.then(() => this.apply()).catch((err: unknown) => this.host.logger.error('applying file sources failed', { error: err }));
    });
    this.applying = this.apply();
    await this.applying;
  }

  private async apply(): Promise<void> {
    if (!this.running) return;
    const wanted = ownedEvents<FileEventSource>(this.host.store, 'file', this.host.logger);
    for (const [id, w] of [...this.watchers]) {
      if (wanted.some((x) => x.id === id && x.fingerprint === w.fingerprint)) continue;
      await w.watcher.close();
      this.watchers.delete(id);
    }
    for (const ev of wanted) {
      if (this.watchers.has(ev.id)) continue;
      try {
        this.watchers.set(ev.id, { fingerprint: ev.fingerprint, watcher: await this.watch(ev) });
      } catch (err) {
        this.host.logger.error('file source not started; retrying in 5 s', { event: ev.id, error: err });
        this.retryLater();
      }
    }
  }

  private async watch(ev: OwnedEvent<FileEventSource>): Promise<DirectoryWatcher> {
    const cfg = ev.config;
    const dir = cfg.watchPathConfig.directory;
    if (!isAbsolute(dir)) throw new Error(`watchPathConfig.directory ${JSON.stringify(dir)} must be absolute`);
    const re = cfg.watchPathConfig.pathRegexp;
    if (re) compileRe2(re);
    const matches = (name: string): boolean => (re ? re2Find(re, name) : name === cfg.watchPathConfig.path);
    const pass = eventFilter(cfg.filter?.expression, this.host.logger);
    const producer = this.host.producers.forBus(ev.bus);
    const topic = eventBusTopic(ev.bus);
    const logger = this.host.logger.child({ event: ev.id });
    const labels = { namespace: ev.namespace, eventsource_name: ev.eventSource, event_name: ev.eventName };
    const watcher = new DirectoryWatcher(
      dir,
      (name, op) => {
        if (op !== cfg.eventType || !matches(name)) return;
        const data = { name: join(dir, name), op, metadata: cfg.metadata ?? {} };
        if (!pass(data)) return;
        const event = buildCloudEvent({ id: randomEventId(), type: 'file', source: ev.eventSource, subject: ev.eventName, data });
        publishTraced(producer, topic, event.id, encodeCloudEvent(event, `${ev.eventSource}.${ev.eventName}`), labels).catch((err: unknown) => logger.error('file event not published', { file: data.name, op, error: err }));
      },
      cfg.polling ?? false,
      this.pollMs,
    );
    await watcher.start();
    return watcher;
  }

  /** Re-applies after a failure to start some event (the bus was unreachable, say). */
  private retryLater(): void {
    if (this.retry || !this.running) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.applying = this.applying.then(() => this.apply()).catch((err: unknown) => this.host.logger.error('re-applying failed', { error: err }));
    }, 5000);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.unsubscribe?.();
    await this.applying.catch(() => undefined);
    for (const w of this.watchers.values()) await w.watcher.close();
    this.watchers.clear();
  }
}
