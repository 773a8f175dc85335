import type { EventSourceType, SecretKeySelector, WebhookContext } from '@ganglion/api';
import type { Logger } from '@ganglion/telemetry';

/** An HTTP request as the ingress kit hands it to a push source (body fully read and size-checked). */
export interface IncomingRequest {
  method: string;
  url: URL;
  /** Header values by canonical Go-style name (`Content-Type`), as Go's `http.Header`. */
  header: Record<string, string[]>;
  body: Buffer;
}

/**
 * CloudEvent attributes a sender supplied itself (an incoming CloudEvent, binary or
 * structured mode), kept on the published event: `id` becomes the event id, `source` and `type`
 * travel as the `originsource`/`origintype` extensions (the event's own `source`/`type` stay
 * Argo's EventSource name and source type, which sensors match on), `traceparent` as the
 * distributed-tracing extension.
 */
export interface IncomingCloudEvent {
  id?: string;
  source?: string;
  type?: string;
  traceparent?: string;
  tracestate?: string;
}

/** One event a request produces. */
export interface PushEvent {
  data: unknown;
  /** The source's natural id for this event (a delivery id, an event id); the CloudEvent id derives from it. */
  naturalId?: string;
}

/** What a push source makes of a request. */
export type PushOutcome =
  /**
   * Accept the request: publish these events (none when the request was filtered out or only
   * needed an answer) and answer `reply` (default 200 "success") once they are acknowledged.
   */
  | { kind: 'accept'; events: PushEvent[]; reply?: PushReply; note?: string }
  /** Refuse the request with a 4xx status and a reason; nothing is published. */
  | { kind: 'reject'; status: number; reason: string };

interface PushReply {
  status: number;
  body: string;
  contentType?: string;
}

/** Secret values a route needs, resolved before it is served (names are the source's own). */
type ResolvedSecrets = Readonly<Record<string, string>>;

/** What a push source gets when it handles a request. */
export interface PushContext<C> {
  config: C;
  secrets: ResolvedSecrets;
  eventName: string;
  /** The EventSource's namespace and name. */
  namespace: string;
  eventSourceName: string;
  logger: Logger;
  /** `fetch` for outbound calls (subscription confirmations, provider APIs). */
  fetch: typeof fetch;
  /** Current time (ms since epoch): signature tolerances. */
  now(): number;
  /**
   * Base URL of a provider API whose address the EventSource spec cannot name (`stripe`),
   * overridable per service (`GANGLION_STRIPE_API_URL`), e.g. to point at a test server.
   */
  apiBase(provider: string, fallback: string): string;
}

/** Called when a route stops being served (hook deletion). */
export type Deactivate = () => Promise<void>;

/**
 * One push (HTTP) event source type. Framework-free: the kit owns sockets, routing, size
 * limits, bearer authentication, rate limits, filtering and acknowledgement; the source turns a
 * request into event data, checks the provider's signature, and optionally registers its hook
 * with the provider while the route is served.
 */
export interface PushSource<C = unknown> {
  /** Argo's CloudEvent type string (`github`, `storagegrid`...). */
  readonly type: string;
  /** Key of the type's map in the EventSource spec (`github`, `storageGrid`...). */
  readonly specKey: EventSourceType;
  /** The route settings (`port`, `endpoint`, `method`, auth...) of one configured event. */
  webhook(config: C): WebhookContext;
  /** Secrets the source needs besides the kit's own (`authSecret`, TLS). */
  secrets?(config: C): Record<string, SecretKeySelector | undefined>;
  /**
   * Which of `secrets` authenticate requests (a signing secret, a shared token). When any is set
   * in the spec, the route is served only if each resolves to a non-empty value or, for optional
   * ones, at least one does: a missing or empty secret never leaves the route open.
   */
  authSecrets?: readonly string[];
  /** The EventSource `filter.expression`, for types that have it. */
  filterExpression?(config: C): string | undefined;
  handle(ctx: PushContext<C>, request: IncomingRequest): PushOutcome | Promise<PushOutcome>;
  /** Registers the hook with the provider (when configured); returns how to undo it. */
  activate?(ctx: PushContext<C>): Promise<Deactivate | undefined>;
}

/** Content type of a request without parameters, lower-cased. */
export function mediaType(request: IncomingRequest): string {
  return (request.header['Content-Type']?.[0] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Go's `url.Values` as JSON: every key maps to the list of its values. */
export function valuesMap(params: URLSearchParams): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of params) (out[k] ??= []).push(v);
  return out;
}

/** Parses a JSON body, or returns the 400 rejection naming the problem. */
export function parseJsonBody(
  request: IncomingRequest,
): { ok: true; value: unknown } | { ok: false; outcome: PushOutcome } {
  try {
    return { ok: true, value: JSON.parse(request.body.toString('utf8')) };
  } catch (err) {
    return {
      ok: false,
      outcome: {
        kind: 'reject',
        status: 400,
        reason: `request body is not valid JSON: ${(err as Error).message}`,
      },
    };
  }
}

export function firstHeader(request: IncomingRequest, name: string): string | undefined {
  return request.header[name]?.[0];
}
