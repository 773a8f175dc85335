import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** An object as the API server stores it (any kind). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** A non-2xx answer of the API server (its `Status` reason and message). */
export class KubeApiError extends Error {
  override name = 'KubeApiError';
  constructor(
    readonly code: number,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
  }

  /** Conflicts, throttling and server errors may pass; a 4xx otherwise will not. */
  get retryable(): boolean {
    return this.code >= 500 || this.code === 409 || this.code === 429 || this.code === 408;
  }
}

export const isKubeError = (err: unknown, code?: number): err is KubeApiError => err instanceof KubeApiError && (code === undefined || err.code === code);

/** How a kind is served: its plural resource name and scope (from API discovery). */
export interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

interface DiscoveredResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/**
 * A small dynamic client over the API server's REST interface: raw JSON bodies with any patch
 * content type, the kind's plural and scope from discovery (cached per group/version, fetched
 * again when a kind is missing, e.g. a CRD installed later). Credentials come from the
 * kubeconfig for every request (so rotated service-account tokens are picked up).
 */
export class KubeRest {
  private readonly discovery = new Map<string, Promise<DiscoveredResource[]>>();

  constructor(readonly config: KubeConfig) {}

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json', signal?: AbortSignal): Promise<T> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new KubeApiError(0, 'NoCluster', 'the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const opts: RequestOptions = { method, headers: { Accept: 'application/json', ...(payload ? { 'Content-Type': contentType, 'Content-Length': payload.length } : {}) } };
    await this.config.applyToHTTPSOptions(opts);
    if (signal) opts.signal = signal;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`no response from the API server within 30 s (${method} ${path})`)));
      req.on('error', reject);
      req.end(payload);
    });
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (status < 200 || status >= 300) {
      const s = (json ?? {}) as { reason?: string; message?: string };
      throw new KubeApiError(status, s.reason, `${method} ${url.pathname} → HTTP ${status}${s.message ? `: ${s.message}` : text ? `: ${text.slice(0, 200)}` : ''}`);
    }
    return json as T;
  }

  private discover(apiVersion: string, refresh: boolean): Promise<DiscoveredResource[]> {
    let list = refresh ? undefined : this.discovery.get(apiVersion);
    if (!list) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      list = this.request<{ resources?: DiscoveredResource[] }>('GET', path).then((r) => (r.resources ?? []).filter((x) => !x.name.includes('/')));
      this.discovery.set(apiVersion, list);
      list.catch(() => this.discovery.delete(apiVersion));
    }
    return list;
  }

  /** The plural and scope of `kind` in `apiVersion` (API discovery). */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let found = (await this.discover(apiVersion, false).catch(() => [])).find((r) => r.kind === kind);
    if (!found) found = (await this.discover(apiVersion, true).catch((err: unknown) => (isKubeError(err, 404) ? [] : Promise.reject(err)))).find((r) => r.kind === kind);
    if (!found) throw new KubeApiError(404, 'NotFound', `the API server serves no kind ${kind} in ${apiVersion}`);
    return { plural: found.name, namespaced: found.namespaced };
  }

  /** The collection path of a kind (in `namespace` when it is namespaced), and the object path when `name` is given. */
  async path(apiVersion: string, kind: string, namespace: string | undefined, name?: string): Promise<string> {
    const r = await this.resource(apiVersion, kind);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (r.namespaced && !namespace) throw new KubeApiError(400, 'BadRequest', `${kind} is namespaced but no namespace was given`);
    const ns = r.namespaced ? `/namespaces/${encodeURIComponent(namespace!)}` : '';
    return `${base}${ns}/${r.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
  }

  async get<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', await this.path(apiVersion, kind, namespace, name), undefined, undefined, signal);
  }

  /** The object, or undefined when it does not exist. */
  async find<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.get<T>(apiVersion, kind, namespace, name, signal);
    } catch (err) {
      if (isKubeError(err, 404)) return undefined;
      throw err;
    }
  }
}

/** Ganglion's annotation on objects it creates: the action that created it (idempotency check). */
export const ACTION_ID_ANNOTATION = 'events.ganglion.io/action-id';

/**
 * The deterministic name of an object created with `metadata.generateName`: the prefix and ten
 * hex characters of the action id's SHA-256, so a re-run of the same action (after a crash)
 * addresses the same object instead of creating a second one.
 */
export function deterministicName(generateName: string, actionId: string): string {
  const suffix = createHash('sha256').update(actionId).digest('hex').slice(0, 10);
  return `${generateName.slice(0, 63 - suffix.length)}${suffix}`;
}

/** Argo's labels on created objects (`events.argoproj.io/sensor`, `/trigger`, `/action-timestamp` in ms). */
export function argoLabels(sensorName: string, triggerName: string, now: Date): Record<string, string> {
  return {
    'events.argoproj.io/sensor': sensorName,
    'events.argoproj.io/trigger': triggerName,
    'events.argoproj.io/action-timestamp': String(now.getTime()),
  };
}
