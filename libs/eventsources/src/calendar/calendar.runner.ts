import type { CalendarEventSource, EventBus } from '@ganglion/api';
import { eventBusTopic } from '@ganglion/api';
import { parseGoDuration } from '@ganglion/core';
import { encodeCloudEvent, TransactionalState } from '@ganglion/eventbus';
import { markSend, processMetrics } from '@ganglion/telemetry';
import { buildCloudEvent, naturalEventId } from '../kit/cloudevent.js';
import { eventFilter, ownedEvents, shortHash, type OwnedEvent, type OwnedHost, type OwnedRunner } from '../kit/owned-source.js';
import { compileCalendar, goTimeString } from './calendar.schedule.js';

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
export class CalendarRunner implements OwnedRunner {
  private readonly states = new Map<string, { state: TransactionalState; values: Map<string, string> }>();
  private readonly tickers = new Map<string, Ticker>();
  private unsubscribe: (() => void) | undefined;
  private applying: Promise<void> = Promise.resolve();
  private running = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly host: OwnedHost) {}

  private now(): number {
    return (this.host.now ?? Date.now)();
  }

  async start(): Promise<void> {
    this.running = true;
    this.unsubscribe = this.host.store.onChange(() => {
      this.applying = this.applying.then(() => this.apply()).catch((err: unknown) => this.host.logger.error('applying calendars failed', { error: err }));
    });
    this.applying = this.apply();
    await this.applying;
  }

  private async stateFor(bus: EventBus): Promise<{ state: TransactionalState; values: Map<string, string> }> {
    const cluster = bus.spec.kafka?.url ?? '';
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

  private async apply(): Promise<void> {
    if (!this.running) return;
    const wanted = ownedEvents<CalendarEventSource>(this.host.store, 'calendar', this.host.logger);
    const ids = new Set(wanted.map((w) => w.id));
    for (const [id, t] of [...this.tickers]) {
      const w = wanted.find((x) => x.id === id);
      if (ids.has(id) && w?.fingerprint === t.fingerprint) continue;
      t.stop();
      await t.done;
      this.tickers.delete(id);
    }
    for (const ev of wanted) {
      if (this.tickers.has(ev.id) || !this.running) continue;
      try {
        this.tickers.set(ev.id, await this.ticker(ev));
      } catch (err) {
        this.host.logger.error('calendar not started; retrying in 5 s', { event: ev.id, error: err });
        this.retryLater();
      }
    }
  }

  private async ticker(ev: OwnedEvent<CalendarEventSource>): Promise<Ticker> {
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
    const labels = { namespace: ev.namespace, eventsource_name: ev.eventSource, event_name: ev.eventName };
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
        const data = { eventTime: goTimeString(tick, schedule.timezone), metadata: cfg.metadata ?? {} };
        const records = [];
        if (pass(data)) {
          const id = naturalEventId(ev.namespace, ev.eventSource, ev.eventName, new Date(tick).toISOString());
          const event = buildCloudEvent({ id, type: 'calendar', source: ev.eventSource, subject: ev.eventName, time: new Date(tick), data });
          const record = encodeCloudEvent(event, `${ev.eventSource}.${ev.eventName}`);
          // Produced inside the state transaction: a producer span started and ended at once.
          markSend(topic, record.headers, { messageId: id, key: record.key });
          records.push({ topic, ...record });
        }
        const started = performance.now();
        try {
          await state.commit(records, [{ key, value: String(tick) }]);
          if (records.length) processMetrics().eventPublished(labels, true, performance.now() - started);
          values.set(key, String(tick));
          last = tick;
        } catch (err) {
          if (records.length) processMetrics().eventPublished(labels, false, performance.now() - started);
          logger.warn('tick not recorded; retrying', { tick: new Date(tick).toISOString(), error: err });
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
    for (const t of this.tickers.values()) t.stop();
    await Promise.all([...this.tickers.values()].map((t) => t.done));
    this.tickers.clear();
    for (const { state } of this.states.values()) await state.close();
    this.states.clear();
  }
}
