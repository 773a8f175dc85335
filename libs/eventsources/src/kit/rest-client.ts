/** A minimal JSON REST client for provider APIs (hook registration) at a configurable base URL. */
export class RestClient {
  constructor(
    private readonly base: string,
    private readonly headers: () => Promise<Record<string, string>> | Record<string, string>,
    private readonly doFetch: typeof fetch,
    private readonly label: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(path.replace(/^\//, ''), this.base.endsWith('/') ? this.base : `${this.base}/`);
    const res = await this.doFetch(url, {
      method,
      headers: { Accept: 'application/json', ...(await this.headers()), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${this.label} API ${method} ${url.pathname}: ${res.status} ${text.slice(0, 200)}`);
    if (!text) return undefined as T;
    try {
      return JSON.parse(text.replace(/^\)\]\}'\n?/, '')) as T;
    } catch {
      return text as T;
    }
  }
}
