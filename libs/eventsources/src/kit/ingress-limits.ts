/**
 * The limits that keep a push ingress replica serving under slow, oversized or hostile
 * clients (docs/eventsources/README.md, "Limits"). Every one is a service setting
 * (`GANGLION_INGRESS_*`, read in libs/nest's ingress.module.ts).
 */
export interface IngressLimits {
  /** Time a client has to send the request line and headers (a slow-loris client is cut off with 408). */
  headersTimeoutMs: number;
  /** Time a client has to send the whole request, body included. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** Connections open at once per port; further ones are closed as soon as they are accepted. */
  maxConnections: number;
  /** A request not answered within this long (from its headers) gets 503 + Retry-After. */
  requestDeadlineMs: number;
  /** Event data nested deeper than this is refused with 400 (it cannot be encoded or evaluated safely). */
  maxJsonDepth: number;
}

export const DEFAULT_INGRESS_LIMITS: IngressLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  // Longer than the 60 s idle timeout of common load balancers, so they close first.
  keepAliveTimeoutMs: 65_000,
  maxConnections: 10_000,
  // GitHub, GitLab and Slack give up on a delivery after 10 s; answer before they do.
  requestDeadlineMs: 9_000,
  maxJsonDepth: 512,
};

/** An event that cannot be encoded (nested too deep, not serialisable): HTTP 400 with the reason. */
export class UnencodableEventError extends Error {
  override readonly name = 'UnencodableEventError';
}

/** Whether `value` nests objects/arrays deeper than `max` levels (iterative: any depth is safe to check). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) continue;
    if (depth > max) return true;
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const c of children) if (c !== null && typeof c === 'object') stack.push([c, depth + 1]);
  }
  return false;
}
