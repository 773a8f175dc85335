import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventBusTopic, type SecretKeySelector, type TLSConfig } from '@ganglion/api';
import { cappedDoubling, nextDelay, parseBackoff, type Backoff } from '@ganglion/core';
import type { EventRecord } from '@ganglion/eventbus';
import type { Logger } from '@ganglion/telemetry';
import type {
  BrokerContext,
  BrokerMessage,
  BrokerSession,
  BrokerSourceType,
  CommonBrokerConfig,
  TlsOptions,
} from './broker-source.js';
import { cloudEventRecord, naturalEventId, randomEventId } from './cloudevent.js';
import { metadataField } from './event-metadata.js';
import { OwnedEventsRunner, type RunningEvent } from './owned-events.runner.js';
import { eventFilter, type OwnedEvent, type OwnedHost } from './owned-source.js';
import { publishTraced } from './push-ingress.runner.js';

/** Bounds of the messages a broker event has taken from its source but not yet acknowledged. */
export interface BrokerWindow {
  /** Messages in flight (default 1 000). */
  messages: number;
  /** Bytes in flight (default 16 MiB). */
  bytes: number;
}

export const DEFAULT_BROKER_WINDOW: BrokerWindow = { messages: 1000, bytes: 16 * 1024 * 1024 };

/** Delay between publish attempts while the bus is unavailable (ms). */
const REPUBLISH_MS = { first: 200, max: 5000 };

/** A delivered message waiting for its acknowledgement at the source. */
interface AckSlot {
  ack: (() => void | Promise<void>) | undefined;
  /** On the bus (or dropped by the filter): acknowledged once every earlier one is. */
  done: boolean;
}

/** An acknowledged slot (its message's closures released). */
const DONE: AckSlot = { ack: undefined, done: true };

/** The status of a running broker event (for logs and readiness). */
interface BrokerPipeStatus {
  connected: boolean;
  inFlight: number;
  inFlightBytes: number;
  paused: boolean;
}

/**
 * One configured event of a broker type: connects (with the event's `connectionBackoff`,
 * forever: after its steps the last delay repeats), and for every delivered message builds
 * Argo's CloudEvent (deterministic id, incoming attributes kept, `metadata`, `filter`),
 * publishes it (acks=all, retried until the bus takes it or the event stops), then
 * acknowledges it at the source, in delivery order. At most `window` messages/bytes are in
 * flight: beyond, `deliver` waits and the session is paused, so a slow or absent bus stops the
 * pulling instead of filling memory; what was taken but not acknowledged when the event stops
 * stays at the source.
 */
class BrokerPipe<C extends CommonBrokerConfig> {
  private stopped = false;
  private session: BrokerSession | undefined;
  private failed: ((err: unknown) => void) | undefined;
  private readonly status: BrokerPipeStatus = {
    connected: false,
    inFlight: 0,
    inFlightBytes: 0,
    paused: false,
  };
  /** Resolved when the window has room again. */
  private room: { promise: Promise<void>; resolve: () => void } | undefined;
  /**
   * Delivered messages not yet acknowledged, in delivery order (`head` is the oldest): a message
   * is acknowledged at the source only when it and every message before it are on the bus (or
   * filtered out). Publishes complete in any order (several produce requests in flight, a
   * retried one): only the contiguous prefix of published messages is acknowledged.
   */
  private readonly unacked: AckSlot[] = [];
  private head = 0;
  private nextPermitMs = 0;
  private lastPublishWarning = 0;
  private lastAckWarning = 0;
  private readonly pass: (data: unknown) => boolean;
  private readonly backoff: Backoff;
  private readonly logger: Logger;
  private readonly topic: string;
  private readonly wake = new AbortController();
  readonly done: Promise<void>;

  constructor(
    private readonly host: OwnedHost,
    private readonly type: BrokerSourceType<C>,
    readonly ev: OwnedEvent<C>,
    private readonly window: BrokerWindow,
  ) {
    this.logger = host.logger.child({ event: ev.id, source: type.type });
    this.pass = eventFilter(ev.config.filter?.expression, this.logger);
    this.backoff = parseBackoff(ev.config.connectionBackoff);
    this.topic = eventBusTopic(ev.bus);
    this.done = this.run();
  }

  get fingerprint(): string {
    return this.ev.fingerprint;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        const failure = new Promise<unknown>((resolve) => (this.failed = resolve));
        this.session = await this.type.connect(this.context());
        if (this.stopped) break;
        this.status.connected = true;
        attempt = 0;
        this.logger.info('broker source connected');
        const err = await Promise.race([failure, this.stoppedSignal()]);
        if (this.stopped) break;
        this.logger.warn('broker source connection lost; reconnecting', { error: err });
      } catch (err) {
        if (this.stopped) break;
        this.logger.warn('broker source not connected; retrying', { error: err, attempt });
      }
      this.status.connected = false;
      await this.closeSession();
      const delay =
        nextDelay(
          this.backoff,
          Math.min(attempt, Math.max(0, this.backoff.steps - 2)),
          Math.random,
        ) ?? this.backoff.durationMs;
      attempt++;
      await sleep(Math.max(100, delay), undefined, { signal: this.wake.signal }).catch(
        () => undefined,
      );
    }
    await this.closeSession();
  }

  private stoppedSignal(): Promise<void> {
    return new Promise((resolve) => {
      if (this.wake.signal.aborted) resolve();
      else this.wake.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  private async closeSession(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    this.failed = undefined;
    if (s)
      await s.close().catch((err: unknown) => this.logger.warn('close failed', { error: err }));
    // Messages of the closed session still in flight keep their room until the bus took them
    // (their acknowledgement then fails and the broker redelivers them: same ids).
    this.status.paused = false;
    this.freeRoom();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake.abort();
    this.freeRoom();
    await this.done;
  }

  private context(): BrokerContext<C> {
    const secrets = this.host.secrets;
    const ns = this.ev.namespace;
    const secret = async (selector: SecretKeySelector): Promise<string> => {
      if (!secrets)
        throw new Error(`no Secret resolver: cannot read ${selector.name}/${selector.key}`);
      return secrets.resolve(ns, selector);
    };
    const optionalSecret = async (s: SecretKeySelector | undefined): Promise<string | undefined> =>
      s ? secret(s) : undefined;
    return {
      event: this.ev,
      config: this.ev.config,
      logger: this.logger,
      replica: this.host.replicaId ?? hostname(),
      secret,
      optionalSecret,
      tls: async (t: TLSConfig | undefined): Promise<TlsOptions | undefined> => {
        if (!t) return undefined;
        const [ca, cert, key] = await Promise.all([
          optionalSecret(t.caCertSecret),
          optionalSecret(t.clientCertSecret),
          optionalSecret(t.clientKeySecret),
        ]);
        return {
          ...(ca ? { ca } : {}),
          ...(cert ? { cert } : {}),
          ...(key ? { key } : {}),
          rejectUnauthorized: !t.insecureSkipVerify,
        };
      },
      deliver: (m) => this.deliver(m),
      recordOf: (m) => this.recordOf(m),
      fail: (err) => this.failed?.(err),
    };
  }

  /** Argo's CloudEvent record of a message, or undefined when the filter drops it. */
  private recordOf(
    m: BrokerMessage,
  ): { topic: string; id: string; record: EventRecord } | undefined {
    const ev = this.ev;
    const data = { ...m.data, ...metadataField(ev.config.metadata) };
    if (!this.pass(data)) return undefined;
    const id =
      m.incoming?.id ??
      (m.naturalId !== undefined
        ? naturalEventId(ev.namespace, ev.eventSource, ev.eventName, m.naturalId)
        : randomEventId());
    const record = cloudEventRecord(
      {
        id,
        type: this.type.type,
        source: ev.eventSource,
        subject: ev.eventName,
        ...(m.time ? { time: m.time } : {}),
        data,
        ...(m.incoming ? { incoming: m.incoming } : {}),
        // Sensors match an event only in its EventSource's namespace (`ce_namespace`).
        namespace: ev.namespace,
      },
      `${ev.eventSource}.${ev.eventName}`,
    );
    return { topic: this.topic, id, record };
  }

  private get full(): boolean {
    return (
      this.status.inFlight >= this.window.messages || this.status.inFlightBytes >= this.window.bytes
    );
  }

  /** Half the window is free: a paused session resumes (not at every freed slot). */
  private get halfFree(): boolean {
    return (
      this.status.inFlight <= this.window.messages / 2 &&
      this.status.inFlightBytes <= this.window.bytes / 2
    );
  }

  private freeRoom(): void {
    if (this.status.paused && (this.halfFree || !this.session)) {
      this.status.paused = false;
      this.session?.resume?.();
    }
    if (this.room && (!this.full || this.stopped)) {
      const r = this.room;
      this.room = undefined;
      r.resolve();
    }
  }

  private async deliver(m: BrokerMessage): Promise<void> {
    if (this.stopped) return;
    const out = this.recordOf(m);
    // The message's place in the acknowledgement order is taken now, at the call, whatever
    // waits below: a later message (say, one the filter drops) is never acknowledged first.
    const slot: AckSlot = { ack: m.ack, done: out === undefined };
    this.unacked.push(slot);
    if (!out) {
      this.acknowledgePrefix();
      return;
    }
    this.status.inFlight++;
    this.status.inFlightBytes += m.bytes;
    const settled = (): void => {
      this.status.inFlight--;
      this.status.inFlightBytes -= m.bytes;
      this.freeRoom();
    };
    // `limitEventsPerSecond`: the message waits for its permit inside the window (it counts as
    // in flight), so a rate-limited source is paused like one whose bus is slow.
    const rate = this.ev.config.limitEventsPerSecond;
    let permitMs = 0;
    if (rate && rate > 0) {
      const now = Date.now();
      const at = Math.max(now, this.nextPermitMs);
      this.nextPermitMs = at + 1000 / rate;
      permitMs = at - now;
    }
    const published =
      permitMs > 0
        ? sleep(permitMs, undefined, { signal: this.wake.signal }).then(() =>
            this.publish(out.id, out.record),
          )
        : this.publish(out.id, out.record);
    published.then(
      () => {
        slot.done = true;
        this.acknowledgePrefix();
        settled();
      },
      // Only when the event stops: the message stays unacknowledged (redelivered), and so
      // does every later one.
      settled,
    );
    if (this.full) {
      if (!this.status.paused) {
        this.status.paused = true;
        this.session?.pause?.();
      }
      this.room ??= (() => {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        return { promise, resolve };
      })();
      await this.room.promise;
    }
  }

  /** Publishes until the bus acknowledges (resolves) or the event stops (rejects). */
  private async publish(id: string, record: EventRecord): Promise<void> {
    const labels = {
      namespace: this.ev.namespace,
      eventsource_name: this.ev.eventSource,
      event_name: this.ev.eventName,
    };
    const producer = this.host.producers.forBus(this.ev.bus);
    for (let attempt = 1; ; attempt++) {
      try {
        await publishTraced(
          producer,
          this.topic,
          id,
          { ...record, headers: { ...record.headers } },
          labels,
        );
        return;
      } catch (err) {
        if (this.stopped) throw err;
        // Once per 10 s, not once per message in the window.
        if (Date.now() - this.lastPublishWarning >= 10_000) {
          this.lastPublishWarning = Date.now();
          this.logger.warn('event not published; retrying', { id, error: err });
        }
        const wait = cappedDoubling(REPUBLISH_MS.first, REPUBLISH_MS.max, attempt);
        await sleep(wait, undefined, { signal: this.wake.signal }).catch(() => undefined);
        if (this.stopped) throw err;
      }
    }
  }

  /**
   * Acknowledges, in delivery order, every message at the head of the queue that is on the bus
   * (or filtered out), up to the first that is not: issued without waiting for the source's
   * answer to the previous one (a Redis XACK, say), so they pipeline. A message whose publish
   * has not succeeded holds back every later one, whatever their own state.
   */
  private acknowledgePrefix(): void {
    const q = this.unacked;
    while (this.head < q.length && q[this.head]!.done) {
      const ack = q[this.head]!.ack;
      q[this.head++] = DONE;
      if (!ack || this.stopped) continue;
      try {
        const answer: unknown = ack();
        // Only a promise is awaited: an acknowledgement typed `() => void` may return anything
        // (the kafka source's returns its offsets map), and calling `.catch` on that threw, and
        // was caught and logged as a failed acknowledgement, for every message.
        if (answer instanceof Promise) answer.catch((err: unknown) => this.ackFailed(err));
      } catch (err) {
        this.ackFailed(err);
      }
    }
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= q.length) {
      q.splice(0, this.head);
      this.head = 0;
    }
  }

  private ackFailed(err: unknown): void {
    // Once per 10 s: a lost connection fails every acknowledgement of the window at once.
    if (Date.now() - this.lastAckWarning < 10_000) return;
    this.lastAckWarning = Date.now();
    this.logger.warn('acknowledgement at the source failed (the message will be redelivered)', {
      error: err,
    });
  }
}

/**
 * Runs every configured event of one broker source type (`specKey` of the EventSource spec),
 * in step with the resource store: the `group` types on every replica at once (the broker's
 * consumer group splits the work), the `owned` ones while this replica owns the type.
 */
export class BrokerEventsRunner<C extends CommonBrokerConfig> extends OwnedEventsRunner<
  C,
  BrokerPipe<C> & RunningEvent
> {
  constructor(
    host: OwnedHost,
    private readonly type: BrokerSourceType<C>,
    specKey = type.type,
    private readonly window: BrokerWindow = DEFAULT_BROKER_WINDOW,
  ) {
    super(host, specKey, `${type.type} source`);
  }

  protected startEvent(ev: OwnedEvent<C>): Promise<BrokerPipe<C>> {
    return Promise.resolve(new BrokerPipe(this.host, this.type, ev, this.window));
  }

  protected stopEvent(pipe: BrokerPipe<C>): Promise<void> {
    return pipe.stop();
  }

  protected override async stopAll(pipes: BrokerPipe<C>[]): Promise<void> {
    await Promise.all(pipes.map((p) => p.stop()));
  }
}
