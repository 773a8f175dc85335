import type { CalendarEventSource, EventBus } from '@ganglion/api';
import { eventBusTopic, parseGoDuration } from '@ganglion/api';
import { encodeCloudEvent, TransactionalState } from '@ganglion/eventbus';
import { markSend, processMetrics } from '@ganglion/telemetry';
import { buildCloudEvent, naturalEventId } from '../kit/cloudevent.js';
import { OwnedEventsRunner } from '../kit/owned-events.runner.js';
import { eventFilter, shortHash, type OwnedEvent, type OwnedHost } from '../kit/owned-source.js';
import { compileCalendar, goTimeString } from './calendar.schedule.js';
import { metadataField } from '../kit/event-metadata.js';

const MAX_TIMER = 2_147_483_647;

interface Ticker {
  fingerprint: string;
  stop(): void;
  done: Promise<void>;
}

/**
 * Runs the `calendar` events while this replica owns the type. Each tick is published together
 * with the tick time in the compacted state topic, in one Kafka transaction; the event id
 * derives from the scheduled time. A new owner first fences the old one (same transactional
 * id), then reads the committed state and continues after the last published tick: catch-up
 * (`persistence.catchup`) replays missed ticks, up to `maxDuration`; without it, ticks missed
 * while no replica ran are skipped, as in Argo. Either way no tick is published twice.
 */
export class CalendarRunner extends OwnedEventsRunner<CalendarEventSource, Ticker> {
  private readonly states = new Map<
    string,
    { state: TransactionalState; values: Map<string, string> }
  >();

  constructor(host: OwnedHost) {
    super(host, 'calendar', 'calendar');
  }

  private async stateFor(
    bus: EventBus,
  ): Promise<{ state: TransactionalState; values: Map<string, string> }> {
    // '' for the installation's cluster, so its transactional id stays `<id>-<hash of ''>`.
    const cluster = bus.spec.kafka?.url ? this.host.producers.clusterOf(bus) : '';
    let entry = this.states.get(cluster);
    if (!entry) {
      const state = new TransactionalState(this.host.producers.clientFor(bus), {
        stateTopic: this.host.stateTopic,
        transactionalId: `${this.host.transactionalId}-${shortHash(cluster)}`,
        logger: this.host.logger,
      });
      const values = await state.open();
      entry = { state, values };
      this.states.set(cluster, entry);
    }
    return entry;
  }

  protected async stopEvent(t: Ticker): Promise<void> {
    t.stop();
    await t.done;
  }

  /** Stops every ticker at once, then closes the state producers. */
  protected override async stopAll(tickers: Ticker[]): Promise<void> {
    for (const t of tickers) t.stop();
    await Promise.all(tickers.map((t) => t.done));
    for (const { state } of this.states.values()) await state.close();
    this.states.clear();
  }

  protected async startEvent(ev: OwnedEvent<CalendarEventSource>): Promise<Ticker> {
    const cfg = ev.config;
    const schedule = compileCalendar(cfg);
    const pass = eventFilter(cfg.filter?.expression, this.host.logger);
    const { state, values } = await this.stateFor(ev.bus);
    const key = `calendar/${ev.namespace}/${ev.eventSource}/${ev.eventName}`;
    const persisted = values.has(key) ? Number(values.get(key)) : undefined;
    const now = this.now();
    let from: number;
    if (cfg.persistence?.catchup?.enabled) {
      from = persisted ?? now;
      const max = cfg.persistence.catchup.maxDuration;
      if (max) from = Math.max(from, now - parseGoDuration(max) / 1e6);
    } else from = Math.max(persisted ?? now, now);
    const topic = eventBusTopic(ev.bus);
    const logger = this.host.logger.child({ event: ev.id });
    const labels = {
      namespace: ev.namespace,
      eventsource_name: ev.eventSource,
      event_name: ev.eventName,
    };
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let wake: (() => void) | undefined;
    const sleep = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, Math.min(Math.max(0, ms), MAX_TIMER));
      });
    const loop = async (): Promise<void> => {
      let last = from;
      while (!stopped) {
        const tick = schedule.next(last);
        if (tick === undefined) return;
        const wait = tick - this.now();
        if (wait > 0) {
          await sleep(wait);
          continue;
        }
        const data = {
          eventTime: goTimeString(tick, schedule.timezone),
          ...metadataField(cfg.metadata),
        };
        const records = [];
        if (pass(data)) {
          const id = naturalEventId(
            ev.namespace,
            ev.eventSource,
            ev.eventName,
            new Date(tick).toISOString(),
          );
          const event = buildCloudEvent({
            id,
            type: 'calendar',
            source: ev.eventSource,
            subject: ev.eventName,
            time: new Date(tick),
            data,
            namespace: ev.namespace,
          });
          const record = encodeCloudEvent(event, `${ev.eventSource}.${ev.eventName}`);
          // Produced inside the state transaction: a producer span started and ended at once.
          markSend(topic, record.headers, { messageId: id, key: record.key });
          records.push({ topic, ...record });
        }
        const started = performance.now();
        try {
          await state.commit(records, [{ key, value: String(tick) }]);
          if (records.length)
            processMetrics().eventPublished(labels, true, performance.now() - started);
          values.set(key, String(tick));
          last = tick;
        } catch (err) {
          if (records.length)
            processMetrics().eventPublished(labels, false, performance.now() - started);
          logger.warn('tick not recorded; retrying', {
            tick: new Date(tick).toISOString(),
            error: err,
          });
          await sleep(1000);
        }
      }
    };
    const done = loop().catch((err: unknown) => logger.error('calendar stopped', { error: err }));
    return {
      fingerprint: ev.fingerprint,
      stop: () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        wake?.();
      },
      done,
    };
  }
}
