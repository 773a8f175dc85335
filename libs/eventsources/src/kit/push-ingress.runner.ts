import { createHash } from 'node:crypto';
import {
  eventBusTopic,
  namespaceOf,
  DEFAULT_EVENTBUS,
  type EventBus,
  type EventSource,
  type SecretKeySelector,
} from '@ganglion/api';
import { compileExpr, evaluateFilterExpression, type CompiledExpr } from '@ganglion/core';
import type { BatchingProducer, BusProducers, EventRecord, RouteState } from '@ganglion/eventbus';
import type { SecretResolver } from '@ganglion/k8s';
import {
  processMetrics,
  withSendSpan,
  type EventSourceLabels,
  type Logger,
} from '@ganglion/telemetry';
import {
  cloudEventRecord,
  incomingCloudEvent,
  naturalEventId,
  randomEventId,
} from './cloudevent.js';
import {
  DEFAULT_MAX_PAYLOAD,
  HttpIngress,
  type BindFailure,
  type BindRetry,
  type Route,
} from './http-ingress.js';
import {
  DEFAULT_INGRESS_LIMITS,
  nestedDeeperThan,
  UnencodableEventError,
  type IngressLimits,
} from './ingress-limits.js';
import type { Deactivate, PushContext, PushSource } from './push-source.js';
import type { ResourceView } from './source-host.js';

/**
 * Publishes one event record to the bus inside a producer span `send <topic>` (its trace
 * context injected into the record's headers; an incoming `ce_traceparent` is continued) and
 * counts it in Argo's event-source metrics.
 */
export async function publishTraced(
  producer: Pick<BatchingProducer, 'send'>,
  topic: string,
  eventId: string,
  record: EventRecord,
  labels: EventSourceLabels,
  started = performance.now(),
  group?: object,
): Promise<void> {
  try {
    await withSendSpan(topic, record.headers, { messageId: eventId, key: record.key }, () =>
      producer.send({ topic, ...record, ...(group ? { group } : {}) }),
    );
  } catch (err) {
    processMetrics().eventPublished(labels, false, performance.now() - started);
    throw err;
  }
  processMetrics().eventPublished(labels, true, performance.now() - started);
}

/** Annotation on an EventSource: requests per second each of its routes accepts per replica. */
const RATE_LIMIT_ANNOTATION = 'ganglion.io/rate-limit';

export interface PushIngressOptions {
  host: string;
  logger: Logger;
  store: ResourceView;
  producers: BusProducers;
  secrets: SecretResolver;
  /** Default per-route limit (requests/s per replica) when the EventSource has no annotation. */
  defaultRateLimit?: number;
  retryAfterSeconds?: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** Provider API base URLs by provider name (see `PushContext.apiBase`). */
  apiBases?: Record<string, string>;
  /** Timeouts, connection cap, request deadline, nesting depth (defaults: DEFAULT_INGRESS_LIMITS). */
  limits?: Partial<IngressLimits>;
  /** Credential headers masked in event data (default: DEFAULT_MASKED_HEADERS). */
  maskedHeaders?: readonly string[];
  /**
   * How often the routes are rebuilt with their Secrets resolved again, so that a rotated
   * Secret (a token, a signing secret, the TLS certificate) applies without a restart (ms,
   * default 60 000; 0: only when resources change).
   */
  secretRefreshMs?: number;
  /**
   * Called after each evaluation with every configured route of this type, served or not (and
   * why not), so the control plane can show a refused route on its EventSource (libs/eventbus
   * `RouteStatusReporter`). A failure is logged; the routes stay applied.
   */
  onRoutes?: (routes: RouteState[]) => Promise<void>;
  /** How a port that cannot be bound is retried (default: 1 s doubling to 30 s). */
  bindRetry?: BindRetry;
  /**
   * The ingress's own ports, by what they serve (`{ 8081: 'health (GANGLION_HEALTH_PORT)' }`): a
   * route on one is refused as `RouteInvalid` instead of failing its bind (`PortInUse`) forever.
   */
  reservedPorts?: ReadonlyMap<number, string>;
}

/** A configured route as last evaluated, with its port once it was built. */
interface EvaluatedRoute {
  state: RouteState;
  port?: number;
}

interface Activation {
  fingerprint: string;
  deactivate: Promise<Deactivate | undefined>;
}

/**
 * Serves the EventSources of one push type: keeps one route per configured event in step with
 * the resource store, resolves its secrets, evaluates `filter.expression`, and publishes each
 * accepted event as Argo's CloudEvent to the EventBus's event topic (200 only once Kafka
 * acknowledged it). Framework-free; the Nest shell only wires it to the process lifecycle.
 */
export class PushIngressRunner<C> {
  readonly ingress: HttpIngress;
  private readonly activations = new Map<string, Activation>();
  private applying: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private refresh: NodeJS.Timeout | undefined;
  /** The routes last applied, to log a change once. */
  private applied = '';
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  /** Every configured route of the last evaluation; reported again when a port's bind changes. */
  private evaluated: EvaluatedRoute[] = [];
  /** Whether routes were applied at least once. */
  private appliedOnce = false;
  /** A port's bind changed since the last report. */
  private reportDue = false;

  constructor(
    private readonly source: PushSource<C>,
    private readonly options: PushIngressOptions,
  ) {
    this.ingress = new HttpIngress({
      host: options.host,
      logger: options.logger,
      ...(options.retryAfterSeconds ? { retryAfterSeconds: options.retryAfterSeconds } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.maskedHeaders ? { maskedHeaders: options.maskedHeaders } : {}),
      ...(options.bindRetry ? { bindRetry: options.bindRetry } : {}),
      // A port bound or failing now: the routes on it are reported again (in turn with applies;
      // once, however many ports changed, and not at all when an apply reports them first).
      onBindChange: () => {
        if (this.reportDue) return;
        this.reportDue = true;
        this.enqueue('reporting the routes', async () => {
          if (this.reportDue) await this.report();
        });
      },
    });
  }

  /**
   * Why this replica does not serve what it is configured to serve on `port`, or undefined
   * when it does: the routes are not applied yet, no route is configured on the port, or the
   * port cannot be bound (the port's readiness, `/readyz?port=`).
   */
  notServing(port: number): string | undefined {
    if (!this.appliedOnce) return 'routes not applied yet';
    const failure = this.ingress.bindFailure(port);
    if (failure) return `port ${port} not bound (${failure.reason}): ${failure.message}`;
    if (!this.ingress.listening(port)) return `no route is served on port ${port}`;
    return undefined;
  }

  /** Ports this replica should serve and cannot bind, with why. */
  bindFailures(): BindFailure[] {
    return this.ingress.bindFailures();
  }

  /** Applies the current EventSources, then follows changes. */
  async start(): Promise<void> {
    this.unsubscribe = this.options.store.onChange(() => this.schedule());
    // In turn with every later apply and bind report, so that reports never overlap.
    await this.enqueue('applying routes', () => this.apply(), true);
    const every = this.options.secretRefreshMs ?? 60_000;
    if (every > 0) {
      this.refresh = setInterval(() => this.schedule(), every);
      this.refresh.unref();
    }
  }

  /** Resolves once changes seen so far are applied. */
  settled(): Promise<void> {
    return this.applying;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.enqueue('applying routes', () => this.apply()), 50);
  }

  /**
   * Runs `task` after every apply and report queued before it. Its failure is logged as
   * `<what> failed`, or, with `rethrow`, returned to the caller (the queue goes on either way).
   */
  private enqueue(what: string, task: () => Promise<void>, rethrow = false): Promise<void> {
    const run = this.applying.then(task);
    this.applying = run.catch((err: unknown) => {
      if (!rethrow) this.options.logger.error(`${what} failed`, { error: err });
    });
    return rethrow ? run : this.applying;
  }

  private async apply(): Promise<void> {
    if (this.closed) return;
    const routes: Route[] = [];
    const wanted = new Map<string, { fingerprint: string; ctx: PushContext<C> }>();
    const evaluated: EvaluatedRoute[] = [];
    // In a stable order (namespace, name), so that every replica settles a conflict the same
    // way; the reconciler keeps conflicting routes from being published in the first place.
    const sources = this.options.store
      .list<EventSource>('EventSource')
      .sort((a, b) =>
        compareKeys(`${namespaceOf(a)}/${a.metadata.name}`, `${namespaceOf(b)}/${b.metadata.name}`),
      );
    for (const es of sources) {
      const events = (es.spec as Record<string, unknown>)[this.source.specKey] as
        Record<string, C> | undefined;
      if (!events) continue;
      const ns = namespaceOf(es);
      const busName = es.spec.eventBusName || DEFAULT_EVENTBUS;
      const bus = this.options.store.get<EventBus>('EventBus', ns, busName);
      if (!bus?.spec.kafka) {
        this.options.logger.warn('EventSource not served: its EventBus does not exist', {
          eventSource: `${ns}/${es.metadata.name}`,
          eventBus: `${ns}/${busName}`,
        });
        continue;
      }
      for (const [eventName, cfg] of Object.entries(events)) {
        const state: RouteState = {
          namespace: ns,
          eventSource: es.metadata.name,
          type: this.source.type,
          event: eventName,
        };
        const entry: EvaluatedRoute = { state };
        evaluated.push(entry);
        try {
          const built = await this.route(es, eventName, cfg, bus);
          const reserved = this.options.reservedPorts?.get(built.route.port);
          if (reserved !== undefined)
            throw new Error(
              `port ${built.route.port} is this ingress's own ${reserved} port; choose another port for the route`,
            );
          routes.push(built.route);
          entry.port = built.route.port;
          if (this.source.activate)
            wanted.set(built.route.id, { fingerprint: built.fingerprint, ctx: built.ctx });
        } catch (err) {
          state.refusal = refusalOf(this.source.type, eventName, err);
          this.options.logger.error('route not served', {
            route: `${ns}/${es.metadata.name}:${eventName}`,
            error: err,
          });
        }
      }
    }
    await this.ingress.setRoutes(routes);
    this.evaluated = evaluated;
    this.appliedOnce = true;
    await this.report();
    const applied = routes.map((r) => `${r.method} :${r.port}${r.endpoint} → ${r.id}`);
    if (applied.join('\n') !== this.applied)
      this.options.logger.info('routes applied', { type: this.source.type, routes: applied });
    this.applied = applied.join('\n');
    await this.reconcileActivations(wanted);
  }

  /**
   * Reports every configured route of the last evaluation to the control plane: refused when
   * it could not be built (its Secret), or when its port cannot be bound (`PortInUse`, ...).
   */
  private async report(): Promise<void> {
    this.reportDue = false;
    if (!this.options.onRoutes || this.closed) return;
    const states = this.evaluated.map(({ state, port }): RouteState => {
      const failure =
        port === undefined || state.refusal ? undefined : this.ingress.bindFailure(port);
      return failure
        ? {
            ...state,
            unbound: {
              reason: failure.reason,
              message: `${state.type} event ${state.event}: ${failure.message}`,
            },
          }
        : state;
    });
    await this.options.onRoutes(states).catch((err: unknown) =>
      this.options.logger.warn('reporting the routes to the control plane failed', {
        error: err,
      }),
    );
  }

  private async reconcileActivations(
    wanted: Map<string, { fingerprint: string; ctx: PushContext<C> }>,
  ): Promise<void> {
    for (const [id, act] of [...this.activations]) {
      const w = wanted.get(id);
      if (w && w.fingerprint === act.fingerprint) continue;
      this.activations.delete(id);
      // A changed event re-registers (hooks are found by URL and updated); only an event that
      // is gone has its hooks removed.
      if (!w) await this.runDeactivate(id, act);
    }
    for (const [id, w] of wanted) {
      if (this.activations.has(id)) continue;
      const deactivate = this.source.activate!(w.ctx).catch((err: unknown) => {
        this.options.logger.error('hook registration failed', { route: id, error: err });
        return undefined;
      });
      this.activations.set(id, { fingerprint: w.fingerprint, deactivate });
      await deactivate;
    }
  }

  private async runDeactivate(id: string, act: Activation): Promise<void> {
    try {
      await (
        await act.deactivate
      )?.();
    } catch (err) {
      this.options.logger.error('hook removal failed', { route: id, error: err });
    }
  }

  private async resolve(
    ns: string,
    sel: SecretKeySelector | undefined,
  ): Promise<string | undefined> {
    if (!sel) return undefined;
    try {
      return await this.options.secrets.resolve(ns, sel);
    } catch (err) {
      if (sel.optional) return undefined;
      throw err;
    }
  }

  private async route(
    es: EventSource,
    eventName: string,
    cfg: C,
    bus: EventBus,
  ): Promise<{ route: Route; fingerprint: string; ctx: PushContext<C> }> {
    const ns = namespaceOf(es);
    const esName = es.metadata.name;
    const id = `${ns}/${esName}:${eventName}`;
    const wh = this.source.webhook(cfg);
    const port = Number(wh.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new Error(`webhook.port "${wh.port}" is not a port number`);
    const bearerToken = await this.resolve(ns, wh.authSecret);
    const cert = await this.resolve(ns, wh.serverCertSecret);
    const key = await this.resolve(ns, wh.serverKeySecret);
    if ((cert === undefined) !== (key === undefined))
      throw new Error('TLS needs both serverCertSecret and serverKeySecret');
    const selectors = this.source.secrets?.(cfg) ?? {};
    const secrets: Record<string, string> = {};
    for (const [name, sel] of Object.entries(selectors)) {
      const v = await this.resolve(ns, sel);
      if (v !== undefined) secrets[name] = v;
    }
    checkAuthSecrets([
      ...(wh.authSecret ? [{ field: 'authSecret', sel: wh.authSecret, value: bearerToken }] : []),
      ...(this.source.authSecrets ?? []).flatMap((name) => {
        const sel = selectors[name];
        return sel ? [{ field: name, sel, value: secrets[name] }] : [];
      }),
    ]);
    const expression = this.source.filterExpression?.(cfg);
    let compiled: CompiledExpr | undefined;
    if (expression) compiled = compileExpr(expression);
    const rate = Number(
      es.metadata.annotations?.[RATE_LIMIT_ANNOTATION] ?? this.options.defaultRateLimit ?? 0,
    );
    const ctx: PushContext<C> = {
      config: cfg,
      secrets,
      eventName,
      namespace: ns,
      eventSourceName: esName,
      logger: this.options.logger.child({ route: id }),
      fetch: this.options.fetch ?? fetch,
      now: this.options.now ?? Date.now,
      apiBase: (provider, fallback) => this.options.apiBases?.[provider] ?? fallback,
    };
    const topic = eventBusTopic(bus);
    const producer = this.options.producers.forBus(bus);
    const type = this.source.type;
    const logger = this.options.logger;
    const labels = { namespace: ns, eventsource_name: esName, event_name: eventName };
    const maxDepth = this.options.limits?.maxJsonDepth ?? DEFAULT_INGRESS_LIMITS.maxJsonDepth;
    const route: Route = {
      id,
      port,
      endpoint: wh.endpoint,
      method: wh.method || 'POST',
      maxPayloadSize: wh.maxPayloadSize ?? DEFAULT_MAX_PAYLOAD,
      ...(bearerToken !== undefined ? { bearerToken } : {}),
      ...(cert !== undefined && key !== undefined ? { tls: { cert, key } } : {}),
      ...(rate > 0 ? { rateLimit: { perSecond: rate, burst: Math.max(1, Math.ceil(rate)) } } : {}),
      handle: (request) => this.source.handle(ctx, request),
      publish: async (events, request) => {
        const incoming = incomingCloudEvent(request);
        const records: { id: string; record: EventRecord }[] = [];
        for (const [i, ev] of events.entries()) {
          if (nestedDeeperThan(ev.data, maxDepth))
            throw new UnencodableEventError(
              `event data is nested deeper than ${maxDepth} levels; it cannot be recorded`,
            );
          if (compiled) {
            let pass = false;
            try {
              pass = evaluateFilterExpression(compiled, ev.data);
            } catch (err) {
              logger.warn('filter expression failed; event dropped', { route: id, error: err });
            }
            if (!pass) continue;
          }
          let eventId: string;
          if (incoming?.id && events.length === 1) eventId = incoming.id;
          else if (ev.naturalId !== undefined)
            eventId = naturalEventId(ns, esName, eventName, ev.naturalId);
          else if (incoming?.id)
            eventId = naturalEventId(ns, esName, eventName, `${incoming.id}#${i}`);
          else eventId = randomEventId();
          let record: EventRecord;
          try {
            record = cloudEventRecord(
              {
                id: eventId,
                type,
                source: esName,
                subject: eventName,
                data: ev.data,
                ...(incoming ? { incoming } : {}),
                namespace: ns,
              },
              `${esName}.${eventName}`,
            );
          } catch (err) {
            throw new UnencodableEventError(
              `event data cannot be encoded: ${(err as Error).message}`,
            );
          }
          records.push({ id: eventId, record });
        }
        // The events of one request stay in order on the bus (one produce request, or in order).
        const group = records.length > 1 ? {} : undefined;
        const started = performance.now();
        await Promise.all(
          records.map(({ id: eventId, record }) =>
            publishTraced(producer, topic, eventId, record, labels, started, group),
          ),
        );
      },
    };
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([cfg, secrets]))
      .digest('hex');
    return { route, fingerprint, ctx };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.refresh) clearInterval(this.refresh);
    this.unsubscribe?.();
    await this.applying.catch(() => undefined);
    await this.ingress.close();
    // Hooks stay registered when a replica stops: other replicas (active-active) still serve
    // them, and a restarted one reuses them. They are removed (deleteHookOnFinish) when the
    // event or its EventSource is deleted.
    this.activations.clear();
  }
}

/** A route's request-authenticating secret as configured and resolved (undefined: optional and missing). */
interface AuthSecret {
  field: string;
  sel: SecretKeySelector;
  value: string | undefined;
}

/**
 * A missing or empty secret never leaves a route open: an empty value is refused (an empty HMAC
 * key or token authenticates anyone), and when every configured authenticating secret is
 * optional and missing, the route is not served rather than served without authentication.
 */
function checkAuthSecrets(auth: AuthSecret[]): void {
  const ref = (a: AuthSecret): string => `${a.field} (Secret ${a.sel.name}, key ${a.sel.key})`;
  const empty = auth.find((a) => a.value !== undefined && a.value.trim() === '');
  if (empty)
    throw new RouteSecretError('SecretEmpty', `${ref(empty)} is empty; the route is not served`);
  if (auth.length > 0 && auth.every((a) => a.value === undefined))
    throw new RouteSecretError(
      'SecretMissing',
      `${auth.map(ref).join(', ')} ${auth.length > 1 ? 'do' : 'does'} not exist; the route is not served rather than left open`,
    );
}

/** A route refused because of its authentication secrets. */
class RouteSecretError extends Error {
  override readonly name = 'RouteSecretError';
  constructor(
    readonly reason: 'SecretEmpty' | 'SecretMissing',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Why a route is not served, for its EventSource's `RoutesServed` condition: `SecretEmpty` or
 * `SecretMissing` (an authenticating secret empty or absent, or any referenced Secret or key
 * that does not exist), else `RouteInvalid` (a bad port or one of the ingress's own, half a TLS
 * pair, a bad filter).
 */
function refusalOf(type: string, event: string, err: unknown): { reason: string; message: string } {
  const message = `${type} event ${event}: ${err instanceof Error ? err.message : String(err)}`;
  if (err instanceof RouteSecretError) return { reason: err.reason, message };
  if (err instanceof Error && err.name === 'SecretNotFoundError')
    return { reason: 'SecretMissing', message };
  return { reason: 'RouteInvalid', message };
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
