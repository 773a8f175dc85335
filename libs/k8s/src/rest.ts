import { request as httpRequest, type IncomingMessage } from 'node:http';
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

function apiError(
  method: string,
  url: URL,
  status: number,
  text: string,
  json: unknown,
): KubeApiError {
  const s = (json ?? {}) as { reason?: string; message?: string };
  return new KubeApiError(
    status,
    s.reason,
    `${method} ${url.pathname} → HTTP ${status}${s.message ? `: ${s.message}` : text ? `: ${text.slice(0, 200)}` : ''}`,
  );
}

export const isKubeError = (err: unknown, code?: number): err is KubeApiError =>
  err instanceof KubeApiError && (code === undefined || err.code === code);

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

/** A list of objects as one answer (all pages joined); items carry `apiVersion` and `kind`. */
interface KubeList<T extends KubeObject = KubeObject> {
  resourceVersion: string;
  items: T[];
}

/** A watch event as the API server streams it (`ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`, `ERROR`). */
export type WatchEventHandler = (
  type: string,
  object: KubeObject & { code?: number; message?: string },
) => void;

/**
 * Ganglion's one Kubernetes client: a small dynamic client over the API server's REST interface
 * (raw JSON bodies with any patch content type; lists with paging; watches), the kind's plural
 * and scope from discovery (cached per group/version, fetched again when a kind is missing, e.g.
 * a CRD installed later). Credentials come from the kubeconfig for every request (so rotated
 * service-account tokens are picked up); @kubernetes/client-node is used only to load and apply
 * that kubeconfig (files, in-cluster service account, exec and auth-provider plugins).
 */
export class KubeRest {
  private readonly discovery = new Map<string, Promise<DiscoveredResource[]>>();

  /**
   * @param impersonate the user every request acts as (`Impersonate-User`, e.g.
   * `system:serviceaccount:<ns>:<name>`): the API server authorizes the request as that user,
   * provided the client's own identity may `impersonate` it.
   * https://kubernetes.io/docs/reference/access-authn-authz/authentication/#user-impersonation
   */
  constructor(
    readonly config: KubeConfig,
    private readonly impersonate?: string,
  ) {}

  /** The absolute URL of an API path (`/api/v1/...`, query included) on the current cluster. */
  url(path: string): URL {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new KubeApiError(0, 'NoCluster', 'the kubeconfig has no current cluster');
    return new URL(cluster.server.replace(/\/+$/, '') + path);
  }

  private async options(
    method: string,
    headers: Record<string, string | number>,
    signal?: AbortSignal,
  ): Promise<RequestOptions> {
    const opts: RequestOptions = {
      method,
      headers: {
        Accept: 'application/json',
        ...(this.impersonate ? { 'Impersonate-User': this.impersonate } : {}),
        ...headers,
      },
    };
    await this.config.applyToHTTPSOptions(opts);
    if (signal) opts.signal = signal;
    return opts;
  }

  /** One request with a JSON (or patch) body; a non-2xx answer throws a {@link KubeApiError}. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    signal?: AbortSignal,
  ): Promise<T> {
    const url = this.url(path);
    const payload =
      body === undefined
        ? undefined
        : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const opts = await this.options(
      method,
      payload ? { 'Content-Type': contentType, 'Content-Length': payload.length } : {},
      signal,
    );
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const { status, text } = await new Promise<{ status: number; text: string }>(
      (resolve, reject) => {
        const req = send(url, opts, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        });
        req.setTimeout(30_000, () =>
          req.destroy(new Error(`no response from the API server within 30 s (${method} ${path})`)),
        );
        req.on('error', reject);
        req.end(payload);
      },
    );
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (status < 200 || status >= 300) throw apiError(method, url, status, text, json);
    return json as T;
  }

  /** A merge patch (`application/merge-patch+json`). */
  mergePatch<T>(path: string, patch: unknown): Promise<T> {
    return this.request<T>('PATCH', path, patch, 'application/merge-patch+json');
  }

  /**
   * Lists a collection (`GET <path>?labelSelector=&fieldSelector=`), paging with
   * `limit`/`continue`; the items carry `apiVersion` and `kind` as a watch would send them.
   */
  async list<T extends KubeObject = KubeObject>(
    path: string,
    options: { labelSelector?: string | undefined; fieldSelector?: string | undefined } = {},
  ): Promise<KubeList<T>> {
    const items: T[] = [];
    let resourceVersion = '';
    let cont = '';
    let listKind = '';
    let apiVersion = '';
    do {
      const query = new URLSearchParams();
      if (options.labelSelector) query.set('labelSelector', options.labelSelector);
      if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
      query.set('limit', '500');
      if (cont) query.set('continue', cont);
      const page = await this.request<{
        kind?: string;
        apiVersion?: string;
        items?: T[];
        metadata?: { continue?: string; resourceVersion?: string };
      }>('GET', `${path}?${query}`);
      listKind = page.kind ?? listKind;
      apiVersion = page.apiVersion ?? apiVersion;
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      cont = page.metadata?.continue ?? '';
    } while (cont);
    // A list's items carry no apiVersion/kind; a watch's objects do. Fill them in.
    const kind = listKind.endsWith('List') ? listKind.slice(0, -4) : listKind;
    for (const item of items) {
      if (!item.apiVersion && apiVersion) item.apiVersion = apiVersion;
      if (!item.kind && kind) item.kind = kind;
    }
    return { resourceVersion, items };
  }

  /**
   * Watches a collection (`GET <path>?watch=true&...`): resolves with the watch's controller once
   * the API server accepted it (a refusal rejects with a {@link KubeApiError}), then calls `onEvent`
   * for every event and `onDone` once when the stream ends: with null when the server closed it
   * (its timeout), with the error otherwise (an `AbortError` after `abort()`).
   */
  async watch(
    path: string,
    query: Record<string, string>,
    onEvent: WatchEventHandler,
    onDone: (err: unknown) => void,
  ): Promise<AbortController> {
    const controller = new AbortController();
    const url = this.url(`${path}?${new URLSearchParams({ ...query, watch: 'true' })}`);
    const opts = await this.options('GET', {}, controller.signal);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, opts, resolve);
      req.on('error', reject);
      req.end();
    });
    if (res.statusCode !== 200) {
      const text = await new Promise<string>((resolve) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', () => resolve(''));
      });
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      throw apiError('GET', url, res.statusCode ?? 0, text, json);
    }
    let done = false;
    const finish = (err: unknown): void => {
      if (done) return;
      done = true;
      onDone(err);
    };
    let buffered = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        try {
          const event = JSON.parse(line) as {
            type: string;
            object: KubeObject & { code?: number; message?: string };
          };
          onEvent(event.type, event.object);
        } catch (err) {
          finish(err);
          controller.abort();
          return;
        }
      }
    });
    res.on('end', () => finish(null));
    res.on('error', finish);
    res.on('close', () =>
      finish(
        controller.signal.aborted
          ? Object.assign(new Error('the watch was aborted'), { name: 'AbortError' })
          : null,
      ),
    );
    return controller;
  }

  private discover(apiVersion: string, refresh: boolean): Promise<DiscoveredResource[]> {
    let list = refresh ? undefined : this.discovery.get(apiVersion);
    if (!list) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      list = this.request<{ resources?: DiscoveredResource[] }>('GET', path).then((r) =>
        (r.resources ?? []).filter((x) => !x.name.includes('/')),
      );
      this.discovery.set(apiVersion, list);
      list.catch(() => this.discovery.delete(apiVersion));
    }
    return list;
  }

  /** The plural and scope of `kind` in `apiVersion` (API discovery). */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let found = (await this.discover(apiVersion, false).catch(() => [])).find(
      (r) => r.kind === kind,
    );
    if (!found)
      found = (
        await this.discover(apiVersion, true).catch((err: unknown) =>
          isKubeError(err, 404) ? [] : Promise.reject(err),
        )
      ).find((r) => r.kind === kind);
    if (!found)
      throw new KubeApiError(
        404,
        'NotFound',
        `the API server serves no kind ${kind} in ${apiVersion}`,
      );
    return { plural: found.name, namespaced: found.namespaced };
  }

  /** The collection path of a kind (in `namespace` when it is namespaced), and the object path when `name` is given. */
  async path(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name?: string,
  ): Promise<string> {
    const r = await this.resource(apiVersion, kind);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (r.namespaced && !namespace)
      throw new KubeApiError(400, 'BadRequest', `${kind} is namespaced but no namespace was given`);
    const ns = r.namespaced ? `/namespaces/${encodeURIComponent(namespace!)}` : '';
    return `${base}${ns}/${r.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
  }

  async get<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.request<T>(
      'GET',
      await this.path(apiVersion, kind, namespace, name),
      undefined,
      undefined,
      signal,
    );
  }

  /** The object, or undefined when it does not exist. */
  async find<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    signal?: AbortSignal,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(apiVersion, kind, namespace, name, signal);
    } catch (err) {
      if (isKubeError(err, 404)) return undefined;
      throw err;
    }
  }
}
