/** How much of a failed answer's body a {@link ProviderApiError} keeps (characters). */
const BODY_EXCERPT = 200;

/** A provider API (GitHub, GitLab, ...) answered a request with a non-2xx status. */
export class ProviderApiError extends Error {
  override name = 'ProviderApiError';
  constructor(
    /** The provider, as the client is labelled (`GitHub`, `Bitbucket Server`, ...). */
    readonly provider: string,
    readonly status: number,
    readonly method: string,
    readonly url: string,
    /** The start of the answer's body (at most 200 characters). */
    readonly body: string,
  ) {
    super(`${provider} API ${method} ${new URL(url).pathname}: ${status} ${body}`);
  }
}

/** Whether `err` is a provider's non-2xx answer (with status `status` when given). */
export const isProviderApiError = (err: unknown, status?: number): err is ProviderApiError =>
  err instanceof ProviderApiError && (status === undefined || err.status === status);

/** A minimal JSON REST client for provider APIs (hook registration) at a configurable base URL. */
export class RestClient {
  constructor(
    private readonly base: string,
    /** Headers of every request (credentials; an `Accept` here replaces `application/json`). */
    private readonly headers: () => Promise<Record<string, string>> | Record<string, string>,
    private readonly doFetch: typeof fetch,
    private readonly label: string,
  ) {}

  /** Sends a request; a non-2xx answer throws a {@link ProviderApiError}. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(
      path.replace(/^\//, ''),
      this.base.endsWith('/') ? this.base : `${this.base}/`,
    );
    const res = await this.doFetch(url, {
      method,
      headers: {
        Accept: 'application/json',
        ...(await this.headers()),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok)
      throw new ProviderApiError(
        this.label,
        res.status,
        method,
        url.href,
        text.slice(0, BODY_EXCERPT),
      );
    if (!text) return undefined as T;
    try {
      // Gerrit prefixes its JSON with `)]}'` against XSSI.
      return JSON.parse(text.replace(/^\)\]\}'\n?/, '')) as T;
    } catch {
      return text as T;
    }
  }
}

/**
 * Deletes registered hooks (paths relative to the client's base) one after another. A hook that
 * is already gone (404: another replica, or a person, removed it) is not an error; any other
 * failure stops and throws.
 */
export async function deleteHooks(
  api: RestClient,
  paths: readonly string[],
  onDeleted?: (path: string) => void,
): Promise<void> {
  for (const path of paths) {
    try {
      await api.call('DELETE', path);
    } catch (err) {
      if (!isProviderApiError(err, 404)) throw err;
    }
    onDeleted?.(path);
  }
}
