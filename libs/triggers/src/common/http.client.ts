import type { IncomingHttpHeaders } from 'node:http';
import { createHash } from 'node:crypto';
import { Agent } from 'undici';
import type { TlsOptions } from './secrets.helper.js';

export interface HttpCall {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
  timeoutMs: number;
  tls?: TlsOptions;
  signal?: AbortSignal;
  /** Largest response body kept (bytes, default 1 MiB); the rest is read and dropped. */
  maxResponseBytes?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export class HttpCallError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'HttpCallError';
  }
}

/**
 * Headers the client manages itself. A template may carry them (Argo's Go client ignores or
 * overrides them), but undici refuses a request with some (`connection`, `keep-alive`,
 * `transfer-encoding`, `upgrade`, `expect`) and a wrong `content-length` breaks the exchange:
 * they are dropped, and the body's length is sent.
 */
const MANAGED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'expect',
  'content-length',
  'te',
  'trailer',
  'proxy-connection',
]);

function sendable(headers: Record<string, string>): Record<string, string> {
  let out: Record<string, string> | undefined;
  for (const name of Object.keys(headers)) {
    if (!MANAGED_HEADERS.has(name.toLowerCase())) continue;
    out ??= { ...headers };
    delete out[name];
  }
  return out ?? headers;
}

/** Keep-alive connections per origin (the trigger service runs up to 32 calls per trigger at once). */
const CONNECTIONS_PER_ORIGIN = 256;

/**
 * A small HTTP(S) client over undici with keep-alive connection pools, one dispatcher per TLS
 * setting, so the per-trigger TLS options (CA, client certificate, insecureSkipVerify) apply
 * without a global dispatcher. undici rather than node:http: the trigger service makes one call
 * per action, and undici's client spends about half the CPU per call (docs/benchmarks.md).
 * Its calls are traced by OpenTelemetry's undici instrumentation (span `POST` etc., with the
 * `traceparent` header). Plugins share one instance; `close` destroys its connections.
 */
export class HttpClient {
  private readonly dispatchers = new Map<string, Agent>();

  private dispatcher(tls: TlsOptions | undefined): Agent {
    const key = tls ? createHash('sha256').update(JSON.stringify(tls)).digest('hex') : '';
    let agent = this.dispatchers.get(key);
    if (!agent) {
      agent = new Agent({
        connections: CONNECTIONS_PER_ORIGIN,
        ...(tls ? { connect: { ...tls } } : {}),
      });
      this.dispatchers.set(key, agent);
    }
    return agent;
  }

  async request(call: HttpCall): Promise<HttpResponse> {
    let url: URL;
    try {
      url = new URL(call.url);
    } catch {
      throw new HttpCallError(`invalid URL ${JSON.stringify(call.url)}`, 'ERR_INVALID_URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new HttpCallError(`unsupported URL scheme ${url.protocol}`, 'ERR_SCHEME');
    const max = call.maxResponseBytes ?? 1 << 20;
    // One deadline for the whole exchange (Argo's `timeout`), not an idle timeout. The caller's
    // signal is forwarded by hand: AbortSignal.any costs more than the call itself.
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, call.timeoutMs);
    const forward = (): void => abort.abort(call.signal?.reason);
    if (call.signal?.aborted) forward();
    else call.signal?.addEventListener('abort', forward, { once: true });
    try {
      const res = await this.dispatcher(url.protocol === 'https:' ? call.tls : undefined).request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: call.method as 'POST',
        headers: sendable(call.headers),
        body: call.body ?? null,
        signal: abort.signal,
        // The deadline above bounds the exchange; undici's own timeouts (300 s) stay out of its way.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of res.body as AsyncIterable<Buffer>) {
        if (size < max) chunks.push(c);
        size += c.length;
      }
      return {
        status: res.statusCode,
        headers: res.headers as IncomingHttpHeaders,
        body:
          chunks.length === 1 && size <= max ? chunks[0]! : Buffer.concat(chunks).subarray(0, max),
      };
    } catch (err) {
      if (timedOut)
        throw new HttpCallError(`no complete response within ${call.timeoutMs} ms`, 'ETIMEDOUT');
      throw err;
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', forward);
    }
  }

  close(): void {
    for (const a of this.dispatchers.values()) void a.destroy().catch(() => undefined);
    this.dispatchers.clear();
  }
}
