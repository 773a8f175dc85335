import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as HttpsServer } from 'node:https';
import { cappedDoubling } from '@ganglion/core';
import { BusSaturatedError, BusUnavailableError, RecordTooLargeError } from '@ganglion/eventbus';
import type { Logger } from '@ganglion/telemetry';
import { DEFAULT_MASKED_HEADERS, goHeader, MASKED_AUTH, maskHeaders } from './headers.js';
import {
  DEFAULT_INGRESS_LIMITS,
  UnencodableEventError,
  type IngressLimits,
} from './ingress-limits.js';
import type { IncomingRequest, PushEvent, PushOutcome } from './push-source.js';

/** Default `maxPayloadSize` (Argo: 1 MiB). */
export const DEFAULT_MAX_PAYLOAD = 1_048_576;

/** One active route: a configured push event on `port` + `endpoint`. */
export interface Route {
  port: number;
  endpoint: string;
  method: string;
  maxPayloadSize: number;
  /** Bearer token required in `Authorization`, when `authSecret` is set. */
  bearerToken?: string;
  /** Identifies the route in logs and errors, e.g. `default/webhook:example`. */
  id: string;
  /** PEM certificate and key: the port serves HTTPS (`serverCertSecret`/`serverKeySecret`). */
  tls?: { cert: string; key: string };
  /**
   * Per-route request rate limit (token bucket, per replica): 429 + Retry-After beyond it. Only
   * requests the source accepted (authenticated and decoded) are charged, so a flood of
   * unauthenticated requests does not use up the budget of the genuine ones.
   */
  rateLimit?: { perSecond: number; burst: number };
  handle(request: IncomingRequest): PushOutcome | Promise<PushOutcome>;
  /** Publishes the events; resolves only after the bus acknowledged them. */
  publish(events: PushEvent[], request: IncomingRequest): Promise<void>;
}

/** A token bucket: `take` answers 0 when a request may pass, else the seconds to wait. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  take(now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return (1 - this.tokens) / this.perSecond;
  }
}

export interface HttpIngressOptions {
  host: string;
  logger: Logger;
  /** `Retry-After` seconds sent with 503 (default 1). */
  retryAfterSeconds?: number;
  /** Called with each finished request (metrics). */
  onRequest?: (route: Route | undefined, status: number, ms: number) => void;
  /** Timeouts, connection cap, request deadline (defaults: {@link DEFAULT_INGRESS_LIMITS}). */
  limits?: Partial<IngressLimits>;
  /** Headers masked in event data once the source has checked them (default {@link DEFAULT_MASKED_HEADERS}). */
  maskedHeaders?: readonly string[];
  /** How a port that cannot be bound is retried (default {@link DEFAULT_BIND_RETRY}). */
  bindRetry?: BindRetry;
  /**
   * Called when a port's bind state changes: it failed for the first time or with another
   * error, or it is bound after failing (so the caller can report the route status again).
   */
  onBindChange?: () => void;
}

/** Retry of a port that cannot be bound: `initialMs`, doubling up to `maxMs`, until it binds. */
export interface BindRetry {
  initialMs: number;
  maxMs: number;
}

/** 1 s, doubling to 30 s. */
export const DEFAULT_BIND_RETRY: BindRetry = { initialMs: 1000, maxMs: 30_000 };

/**
 * Why a port is not bound, for the route's `RoutesServed` condition: `PortInUse` (EADDRINUSE:
 * another process holds it), `PortNotPermitted` (EACCES: a port below 1024 without
 * CAP_NET_BIND_SERVICE), `AddressNotAvailable` (EADDRNOTAVAIL: `GANGLION_HOST` is not an address
 * of this host), else `ListenFailed`. The message names the address and the error and does not
 * change from one attempt to the next (so a retry writes no new status).
 */
export interface BindFailure {
  port: number;
  reason: 'PortInUse' | 'PortNotPermitted' | 'AddressNotAvailable' | 'ListenFailed';
  message: string;
  /** The error's code (`EADDRINUSE`, ...), or its message when it has none. */
  code: string;
  /** Failed attempts so far. */
  attempts: number;
}

/** A wanted port that is not bound: its failures and its next attempt. */
interface PendingBind {
  tls: Route['tls'];
  failure: BindFailure;
  timer: NodeJS.Timeout | undefined;
}

/** Constant-time comparison of two secrets of any length (hashes first, so lengths don't leak). */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/**
 * The shared HTTP server for push sources: one `http.Server` per port, routes per
 * port + endpoint, `GET /health` on every port (Argo's health check), body size limits,
 * bearer authentication, and the acknowledgement rule: 200 only after Kafka acknowledged the
 * event, 503 + Retry-After when the bus is unavailable or saturated, 4xx with the reason for
 * bad requests.
 */
export class HttpIngress {
  private readonly servers = new Map<number, Server>();
  /** The TLS material each listening port was opened with ('' for plain HTTP). */
  private readonly serverTls = new Map<number, string>();
  private readonly routes = new Map<string, Route>();
  private readonly buckets = new Map<string, { spec: string; bucket: TokenBucket }>();
  private readonly limits: IngressLimits;
  private readonly masked: ReadonlySet<string>;
  /** Wanted ports that could not be bound, retried with backoff. */
  private readonly pending = new Map<number, PendingBind>();
  private readonly bindRetry: BindRetry;
  /** `setRoutes` and bind retries, one after another: a retry never sees half a route change. */
  private ops: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: HttpIngressOptions) {
    this.bindRetry = options.bindRetry ?? DEFAULT_BIND_RETRY;
    this.limits = { ...DEFAULT_INGRESS_LIMITS, ...options.limits };
    this.masked = new Set(
      (options.maskedHeaders ?? DEFAULT_MASKED_HEADERS).map((h) => h.toLowerCase()),
    );
  }

  private static key(port: number, endpoint: string): string {
    return `${port}${endpoint}`;
  }

  /** Ports with a listening server. */
  get ports(): number[] {
    return [...this.servers.keys()];
  }

  /** Whether `port` is bound and accepting connections (not only being bound). */
  listening(port: number): boolean {
    return this.servers.get(port)?.listening ?? false;
  }

  /** Why a wanted port is not bound now (undefined: bound, binding, or not wanted). */
  bindFailure(port: number): BindFailure | undefined {
    const p = this.pending.get(port);
    return p ? { ...p.failure } : undefined;
  }

  /** Every wanted port that is not bound now, by port. */
  bindFailures(): BindFailure[] {
    return [...this.pending.values()].map((p) => ({ ...p.failure }));
  }

  /** Replaces the set of routes; opens and closes ports as needed. */
  setRoutes(routes: Route[]): Promise<void> {
    return this.serialized(() => this.applyRoutes(routes));
  }

  /** Runs `task` once every `setRoutes` and bind retry queued before it has finished. */
  private serialized(task: () => Promise<void>): Promise<void> {
    const run = this.ops.then(() => (this.closed ? undefined : task()));
    this.ops = run.catch(() => undefined);
    return run;
  }

  private async applyRoutes(routes: Route[]): Promise<void> {
    this.indexRoutes(routes);
    const wanted = this.wantedPorts();
    for (const [id] of this.buckets)
      if (![...this.routes.values()].some((r) => r.id === id)) this.buckets.delete(id);
    await this.updateServers(wanted);
    this.updatePendingBinds(wanted);
    // A port already waiting for its retry keeps its backoff; a new one is tried at once.
    for (const [port, tls] of wanted)
      if (!this.servers.has(port) && !this.pending.has(port)) await this.bind(port, tls);
  }

  /** Makes `routes` the served routes; of two on one port and endpoint the first is kept. */
  private indexRoutes(routes: Route[]): void {
    this.routes.clear();
    for (const r of routes) {
      const k = HttpIngress.key(r.port, r.endpoint);
      const existing = this.routes.get(k);
      if (existing) {
        this.options.logger.error('route conflict: endpoint already served; ignoring the second', {
          port: r.port,
          endpoint: r.endpoint,
          kept: existing.id,
          ignored: r.id,
        });
        continue;
      }
      this.routes.set(k, r);
    }
  }

  /** The ports the routes want, each with its first route's TLS setting. */
  private wantedPorts(): Map<number, Route['tls']> {
    const wanted = new Map<number, Route['tls']>();
    for (const r of this.routes.values()) {
      if (!wanted.has(r.port)) wanted.set(r.port, r.tls);
      else if (tlsKey(wanted.get(r.port)) !== tlsKey(r.tls))
        this.options.logger.error(
          "routes on one port disagree on TLS; the port uses the first route's setting",
          { port: r.port, route: r.id },
        );
    }
    return wanted;
  }

  /**
   * Gives a served TLS port that is still wanted its rotated certificate, and closes a port no
   * route wants any more or whose TLS setting changed (it is bound again with the new one).
   */
  private async updateServers(wanted: Map<number, Route['tls']>): Promise<void> {
    for (const [port, server] of [...this.servers]) {
      const tls = wanted.get(port);
      const before = this.serverTls.get(port);
      // A rotated certificate on a TLS port: new connections get it, nothing is closed.
      if (tls && before && before !== tlsKey(tls)) {
        try {
          (server as HttpsServer).setSecureContext({ cert: tls.cert, key: tls.key });
          this.serverTls.set(port, tlsKey(tls));
          this.options.logger.info('serving a new certificate', { port });
        } catch (err) {
          this.options.logger.error('the new certificate does not load; the previous one stays', {
            port,
            error: err,
          });
        }
        continue;
      }
      if (!wanted.has(port) || before !== tlsKey(tls)) {
        this.servers.delete(port);
        this.serverTls.delete(port);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        this.options.logger.info('closed port', { port });
      }
    }
  }

  /** Stops retrying the bind of a port no route wants; a wanted one retries with its current TLS. */
  private updatePendingBinds(wanted: Map<number, Route['tls']>): void {
    for (const [port, p] of [...this.pending])
      if (!wanted.has(port)) {
        clearTimeout(p.timer);
        this.pending.delete(port);
        this.options.logger.info('no longer retrying the bind: no route wants the port', { port });
        this.options.onBindChange?.();
      } else p.tls = wanted.get(port);
  }

  /**
   * Binds `port`, or records why not and retries with backoff (in turn with `setRoutes`) until
   * it binds or no route wants it. The first failure and a change of error are warnings;
   * repeats are debug lines.
   */
  private async bind(port: number, tls: Route['tls']): Promise<void> {
    const pending = this.pending.get(port);
    try {
      await this.listen(port, tls);
    } catch (err) {
      if (!this.closed) this.recordBindFailure(port, tls, err, pending);
      return;
    }
    if (!pending) return;
    this.pending.delete(port);
    this.options.logger.info('listening after failed attempts', {
      port,
      attempts: pending.failure.attempts,
    });
    this.options.onBindChange?.();
  }

  private recordBindFailure(
    port: number,
    tls: Route['tls'],
    err: unknown,
    pending: PendingBind | undefined,
  ): void {
    const previous = pending?.failure;
    const failure = bindFailureOf(port, this.options.host, err, (previous?.attempts ?? 0) + 1);
    const entry: PendingBind = pending ?? { tls, failure, timer: undefined };
    entry.failure = failure;
    this.pending.set(port, entry);
    const delayMs = cappedDoubling(
      this.bindRetry.initialMs,
      this.bindRetry.maxMs,
      failure.attempts,
    );
    const fields = { port, error: failure.code, attempts: failure.attempts, retryInMs: delayMs };
    if (!previous || previous.code !== failure.code) {
      this.options.logger.warn(`cannot listen: ${failure.message}`, fields);
      this.options.onBindChange?.();
    } else this.options.logger.debug('cannot listen, again', fields);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      // Still wanted by the time it runs (a route change may have dropped or re-added the port).
      void this.serialized(async () => {
        if (this.pending.get(port) === entry) await this.bind(port, entry.tls);
      });
    }, delayMs);
    entry.timer.unref();
  }

  private listen(port: number, tls: Route['tls']): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void =>
      void this.serve(port, req, res);
    const l = this.limits;
    // Node checks the header and request timeouts every `connectionsCheckingInterval` (30 s by
    // default): check often enough that a slow client is cut off close to its timeout.
    const timeouts = {
      requestTimeout: l.requestTimeoutMs,
      headersTimeout: Math.min(l.headersTimeoutMs, l.requestTimeoutMs),
      keepAliveTimeout: l.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, l.headersTimeoutMs / 4)),
    };
    const server: Server = tls
      ? createTlsServer({ cert: tls.cert, key: tls.key, ...timeouts }, handler)
      : createServer(timeouts, handler);
    // Connections beyond the cap are destroyed as soon as they are accepted.
    server.maxConnections = l.maxConnections;
    this.servers.set(port, server);
    this.serverTls.set(port, tlsKey(tls));
    return new Promise((resolve, reject) => {
      server.once('error', (err) => {
        this.servers.delete(port);
        this.serverTls.delete(port);
        reject(err);
      });
      server.listen(port, this.options.host, () => {
        this.options.logger.info('listening', {
          host: this.options.host,
          port,
          tls: tls !== undefined,
        });
        resolve();
      });
    });
  }

  private reply(
    res: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ): void {
    if (res.headersSent) return;
    // An explicit Content-Length: headers and body go out in one write, not chunked.
    res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      ...headers,
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  private async serve(port: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://ingress');
    } catch {
      req.resume();
      this.reply(res, 400, 'malformed request target');
      return;
    }
    const route = this.routes.get(HttpIngress.key(port, url.pathname));
    let finished = false;
    const done = (status: number, body: string, headers?: Record<string, string>): void => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      this.reply(res, status, body, headers);
      this.options.onRequest?.(route, status, Date.now() - started);
    };
    const retry = String(this.options.retryAfterSeconds ?? 1);
    // The per-request deadline: a request not answered in time gets 503 + Retry-After (its
    // publish may still complete; the sender's retry then carries the same event id where the
    // source has one).
    const deadline = setTimeout(() => {
      this.options.logger.warn('request deadline exceeded', {
        route: route?.id,
        deadlineMs: this.limits.requestDeadlineMs,
      });
      done(
        503,
        `event not recorded: request not completed within ${this.limits.requestDeadlineMs} ms`,
        {
          'Retry-After': retry,
          Connection: 'close',
        },
      );
    }, this.limits.requestDeadlineMs);
    if (!route) {
      if (url.pathname === '/health' && (req.method === 'GET' || req.method === 'HEAD'))
        return done(200, 'OK');
      req.resume();
      return done(404, `no event source serves ${url.pathname} on port ${port}`);
    }
    if ((req.method ?? '').toUpperCase() !== route.method.toUpperCase()) {
      req.resume();
      return done(
        405,
        `http method does not match: this endpoint accepts ${route.method.toUpperCase()}`,
        { Allow: route.method.toUpperCase() },
      );
    }
    const header = goHeader(req.headersDistinct);
    if (route.bearerToken !== undefined) {
      const auth = header['Authorization']?.[0] ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
      if (token === undefined || !secretsEqual(token, route.bearerToken)) {
        req.resume();
        return done(401, 'invalid or missing bearer token');
      }
      header['Authorization'] = [MASKED_AUTH];
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    // A body that can never fit is answered 413 at once; the rest of it is read and dropped
    // (bounded by the request timeout), so the client reads the answer instead of a reset.
    if (Number.isFinite(declared) && declared > route.maxPayloadSize) {
      req.resume();
      return done(
        413,
        `payload of ${declared} bytes exceeds maxPayloadSize ${route.maxPayloadSize}`,
      );
    }
    let body: Buffer;
    try {
      body = await readBody(req, route.maxPayloadSize);
    } catch (err) {
      if (err instanceof PayloadTooLarge) return done(413, err.message);
      return done(400, (err as Error).message, { Connection: 'close' });
    }
    const request: IncomingRequest = { method: req.method ?? 'GET', url, header, body };
    let outcome: PushOutcome;
    try {
      outcome = await route.handle(request);
    } catch (err) {
      this.options.logger.error('event source failed on a request', {
        route: route.id,
        error: err,
      });
      return done(500, 'failed to process the request');
    }
    if (outcome.kind === 'reject') return done(outcome.status, outcome.reason);
    // The source has checked the credentials: mask them in the data it built (which holds the
    // request's header map, or a copy of it under `header`/`headers`).
    maskHeaders(header, this.masked);
    for (const ev of outcome.events) {
      const data = ev.data as { header?: unknown; headers?: unknown } | null;
      for (const h of [data?.header, data?.headers])
        if (h && typeof h === 'object' && h !== header)
          maskHeaders(h as Record<string, string[]>, this.masked);
    }
    // Rate limited after the source's checks (bearer token, signature, decoding): only
    // accepted requests are charged.
    const wait = this.rateLimitWait(route, Date.now());
    if (wait > 0)
      return done(429, `rate limit of ${route.rateLimit!.perSecond} requests/s exceeded`, {
        'Retry-After': String(Math.max(1, Math.ceil(wait))),
      });
    if (finished) return;
    try {
      if (outcome.events.length > 0) await route.publish(outcome.events, request);
    } catch (err) {
      if (err instanceof RecordTooLargeError)
        return done(413, `event not recorded: ${err.message}`);
      if (err instanceof UnencodableEventError) return done(400, err.message);
      // The detail (broker addresses, the client's error) goes to the log, never to the client.
      if (err instanceof BusSaturatedError)
        return done(503, 'event not recorded: the event bus is saturated', {
          'Retry-After': retry,
        });
      if (err instanceof BusUnavailableError) {
        this.options.logger.warn('event not recorded: the bus is unavailable', {
          route: route.id,
          error: err,
        });
        return done(503, 'event not recorded: the event bus is unavailable', {
          'Retry-After': retry,
        });
      }
      this.options.logger.error('publish failed', { route: route.id, error: err });
      return done(503, 'event not recorded: the event bus is unavailable', {
        'Retry-After': retry,
      });
    }
    const reply = outcome.reply;
    if (reply)
      done(
        reply.status,
        reply.body,
        reply.contentType ? { 'Content-Type': reply.contentType } : {},
      );
    else done(200, 'success');
  }

  /** Takes a token from the route's bucket: 0 when the request may pass, else seconds to wait. */
  private rateLimitWait(route: Route, now: number): number {
    if (!route.rateLimit) return 0;
    const spec = `${route.rateLimit.perSecond}/${route.rateLimit.burst}`;
    let entry = this.buckets.get(route.id);
    if (!entry || entry.spec !== spec)
      this.buckets.set(
        route.id,
        (entry = {
          spec,
          bucket: new TokenBucket(route.rateLimit.perSecond, route.rateLimit.burst, now),
        }),
      );
    return entry.bucket.take(now);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    // A route change or bind in flight finishes first; its servers are closed below.
    await this.ops;
    const servers = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeIdleConnections();
          }),
      ),
    );
  }
}

class PayloadTooLarge extends Error {}

/**
 * The `listen` error codes with a reason of their own: the reason, and what the code means for
 * this port and host. Any other failure is `ListenFailed` with the error's message.
 */
const BIND_FAILURES: Readonly<
  Record<string, readonly [BindFailure['reason'], (port: number, host: string) => string]>
> = {
  EADDRINUSE: [
    'PortInUse',
    (port) => `address already in use (EADDRINUSE), another process holds port ${port}`,
  ],
  EACCES: [
    'PortNotPermitted',
    (port) =>
      `permission denied (EACCES)${port < 1024 ? `, port ${port} is below 1024 and needs CAP_NET_BIND_SERVICE` : ''}`,
  ],
  EADDRNOTAVAIL: [
    'AddressNotAvailable',
    (_port, host) =>
      `address not available (EADDRNOTAVAIL), ${host} is not an address of this host`,
  ],
};

/** {@link BindFailure} of a failed `listen` (attempt number `attempts`). */
export function bindFailureOf(
  port: number,
  host: string,
  err: unknown,
  attempts: number,
): BindFailure {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : String(e?.message ?? err);
  const at = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  // Own keys only: a code taken from a message may be any string (`constructor`).
  const [reason, explain] = Object.hasOwn(BIND_FAILURES, code)
    ? BIND_FAILURES[code]!
    : (['ListenFailed', () => e?.message ?? code] as const);
  return {
    port,
    code,
    attempts,
    reason,
    message: `cannot listen on ${at}: ${explain(port, host)}; the ingress retries the bind with backoff`,
  };
}

function tlsKey(tls: Route['tls']): string {
  return tls
    ? createHash('sha256').update(tls.cert).update('\0').update(tls.key).digest('hex')
    : '';
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new PayloadTooLarge(`payload exceeds maxPayloadSize ${limit} bytes`));
        // Read and drop the rest (bounded by the request timeout): the client gets the 413.
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', (err) => reject(new Error(`could not read the request body: ${err.message}`)));
  });
}
