import type { EventSourceType, WebhookContext } from '@ganglion/api';

/** An HTTP request as the ingress kit hands it to a push source (body fully read and size-checked). */
export interface IncomingRequest {
  method: string;
  url: URL;
  /** Header values by canonical Go-style name (`Content-Type`), as Go's `http.Header`. */
  header: Record<string, string[]>;
  body: Buffer;
}

/** What a push source makes of a request. */
export type PushOutcome =
  /** Publish one event with this data (and, where the source has a natural id, that id). */
  | { kind: 'event'; data: unknown; id?: string }
  /** Refuse the request with a 4xx status and a reason; nothing is published. */
  | { kind: 'reject'; status: number; reason: string };

/**
 * One push (HTTP) event source type. Framework-free: the kit owns sockets, routing, size
 * limits, authentication and acknowledgement; the source only turns a request into event data.
 */
export interface PushSource<C extends WebhookContext = WebhookContext> {
  readonly type: EventSourceType;
  /** The route settings (`port`, `endpoint`, `method`, auth...) of one configured event. */
  context(config: C): WebhookContext;
  handle(config: C, request: IncomingRequest): PushOutcome;
}
