import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createHash } from 'node:crypto';
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
 * A small HTTP(S) client over node:http with keep-alive agents, one per TLS setting, so the
 * per-trigger TLS options (CA, client certificate, insecureSkipVerify) apply without a global
 * dispatcher. Plugins share one instance; `close` destroys its sockets.
 */
export class HttpClient {
  private readonly agents = new Map<string, HttpAgent | HttpsAgent>();

  private agent(https: boolean, tls: TlsOptions | undefined): HttpAgent | HttpsAgent {
    const key = https ? `https:${createHash('sha256').update(JSON.stringify(tls ?? {})).digest('hex')}` : 'http';
    let agent = this.agents.get(key);
    if (!agent) {
      const common = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64 };
      agent = https ? new HttpsAgent({ ...common, ...(tls ?? {}) }) : new HttpAgent(common);
      this.agents.set(key, agent);
    }
    return agent;
  }

  request(call: HttpCall): Promise<HttpResponse> {
    const url = new URL(call.url);
    const https = url.protocol === 'https:';
    if (!https && url.protocol !== 'http:') return Promise.reject(new HttpCallError(`unsupported URL scheme ${url.protocol}`, 'ERR_SCHEME'));
    const max = call.maxResponseBytes ?? 1 << 20;
    return new Promise<HttpResponse>((resolve, reject) => {
      const headers: Record<string, string | number> = { ...call.headers };
      if (call.body) headers['Content-Length'] = call.body.length;
      const req = (https ? httpsRequest : httpRequest)(url, { method: call.method, headers, agent: this.agent(https, call.tls), signal: call.signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < max) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).subarray(0, max) });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      // One deadline for the whole exchange (Argo's `timeout`), not an idle timeout.
      const timer = setTimeout(() => req.destroy(new HttpCallError(`no complete response within ${call.timeoutMs} ms`, 'ETIMEDOUT')), call.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(call.body);
    });
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}
