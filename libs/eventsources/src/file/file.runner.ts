import { isAbsolute, join } from 'node:path';
import { eventBusTopic, type FileEventSource } from '@ganglion/api';
import { compileRe2, re2Find } from '@ganglion/core';
import { encodeCloudEvent } from '@ganglion/eventbus';
import { publishTraced } from '../kit/push-ingress.runner.js';
import { buildCloudEvent, randomEventId } from '../kit/cloudevent.js';
import { OwnedEventsRunner } from '../kit/owned-events.runner.js';
import { eventFilter, type OwnedEvent, type OwnedHost } from '../kit/owned-source.js';
import { DirectoryWatcher } from './file.watcher.js';
import { metadataField } from '../kit/event-metadata.js';

/**
 * Runs the `file` events while this replica owns the type: watches `watchPathConfig.directory`
 * (inotify, or polling with `polling: true`) and publishes `{name, op, metadata}` (Argo's
 * `fsevent.Event`: `name` the file's path) for operations equal to `eventType` on files named
 * `path`, or matching `pathRegexp`.
 */
export class FileRunner extends OwnedEventsRunner<
  FileEventSource,
  { fingerprint: string; watcher: DirectoryWatcher }
> {
  constructor(
    host: OwnedHost,
    private readonly pollMs = 1000,
  ) {
    super(host, 'file', 'file source');
  }

  protected async startEvent(
    ev: OwnedEvent<FileEventSource>,
  ): Promise<{ fingerprint: string; watcher: DirectoryWatcher }> {
    return { fingerprint: ev.fingerprint, watcher: await this.watch(ev) };
  }

  protected async stopEvent(entry: { watcher: DirectoryWatcher }): Promise<void> {
    await entry.watcher.close();
  }

  private async watch(ev: OwnedEvent<FileEventSource>): Promise<DirectoryWatcher> {
    const cfg = ev.config;
    const dir = cfg.watchPathConfig.directory;
    if (!isAbsolute(dir))
      throw new Error(`watchPathConfig.directory ${JSON.stringify(dir)} must be absolute`);
    const re = cfg.watchPathConfig.pathRegexp;
    if (re) compileRe2(re);
    const matches = (name: string): boolean =>
      re ? re2Find(re, name) : name === cfg.watchPathConfig.path;
    const pass = eventFilter(cfg.filter?.expression, this.host.logger);
    const producer = this.host.producers.forBus(ev.bus);
    const topic = eventBusTopic(ev.bus);
    const logger = this.host.logger.child({ event: ev.id });
    const labels = {
      namespace: ev.namespace,
      eventsource_name: ev.eventSource,
      event_name: ev.eventName,
    };
    const watcher = new DirectoryWatcher(
      dir,
      (name, op) => {
        if (op !== cfg.eventType || !matches(name)) return;
        const data = { name: join(dir, name), op, ...metadataField(cfg.metadata) };
        if (!pass(data)) return;
        const event = buildCloudEvent({
          id: randomEventId(),
          type: 'file',
          source: ev.eventSource,
          subject: ev.eventName,
          data,
          namespace: ev.namespace,
        });
        publishTraced(
          producer,
          topic,
          event.id,
          encodeCloudEvent(event, `${ev.eventSource}.${ev.eventName}`),
          labels,
        ).catch((err: unknown) =>
          logger.error('file event not published', { file: data.name, op, error: err }),
        );
      },
      cfg.polling ?? false,
      this.pollMs,
    );
    await watcher.start();
    return watcher;
  }
}
