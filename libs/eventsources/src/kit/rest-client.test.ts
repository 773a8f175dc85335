import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deleteHooks, isProviderApiError, ProviderApiError, RestClient } from './rest-client.js';

/**
 * A provider API on 127.0.0.1: `hooks` holds the hook ids that exist; GET/DELETE
 * /repos/r/hooks/<id> answer 200/204 for one that exists and 404 otherwise; ids in `failing`
 * answer 500; every request is recorded as `METHOD path auth`.
 */
function providerServer(hooks: Set<string>, failing: Set<string>, requests: string[]): Server {
  return createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers['authorization'] ?? ''}`);
    const id = /^\/api\/repos\/r\/hooks\/([^/]+)$/.exec(req.url ?? '')?.[1];
    if (id && failing.has(id)) {
      res
        .writeHead(500, { 'Content-Type': 'text/plain' })
        .end(`storage on fire ${'x'.repeat(400)}`);
      return;
    }
    if (id && !hooks.has(id)) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    if (id && req.method === 'DELETE') {
      hooks.delete(id);
      res.writeHead(204).end();
      return;
    }
    if (id) {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id }));
      return;
    }
    res.writeHead(404).end();
  });
}

describe('the ingress kit REST client and deleteHooks against a local HTTP server', () => {
  const hooks = new Set<string>();
  const failing = new Set<string>();
  const requests: string[] = [];
  const server = providerServer(hooks, failing, requests);
  let api: RestClient;

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    api = new RestClient(
      `http://127.0.0.1:${port}/api`,
      () => ({ Authorization: 'Bearer t0ken' }),
      fetch,
      'Forge',
    );
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('returns the parsed JSON of a 2xx answer, with the configured credentials', async () => {
    hooks.add('7');
    requests.length = 0;
    assert.deepEqual(await api.call('GET', 'repos/r/hooks/7'), { id: '7' });
    assert.deepEqual(requests, ['GET /api/repos/r/hooks/7 Bearer t0ken']);
  });

  it('throws a ProviderApiError with the status, method, URL and an excerpt of the body for a non-2xx answer', async () => {
    failing.add('9');
    const err = await api.call('DELETE', 'repos/r/hooks/9').then(
      () => assert.fail('a 500 answer must throw'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ProviderApiError);
    assert.equal(err.provider, 'Forge');
    assert.equal(err.status, 500);
    assert.equal(err.method, 'DELETE');
    assert.match(err.url, /^http:\/\/127\.0\.0\.1:\d+\/api\/repos\/r\/hooks\/9$/);
    assert.equal(err.body.length, 200);
    assert.ok(err.body.startsWith('storage on fire'));
    assert.equal(err.message, `Forge API DELETE /api/repos/r/hooks/9: 500 ${err.body}`);
    assert.ok(isProviderApiError(err, 500));
    assert.ok(!isProviderApiError(err, 404));
    assert.ok(
      !isProviderApiError(new Error('Forge API DELETE /x: 404 gone')),
      'an error text is no provider answer',
    );
    failing.clear();
  });

  it('deleteHooks deletes every hook and treats one already gone (404) as deleted', async () => {
    hooks.clear();
    hooks.add('1').add('3');
    requests.length = 0;
    const deleted: string[] = [];
    await deleteHooks(api, ['repos/r/hooks/1', 'repos/r/hooks/2', 'repos/r/hooks/3'], (p) =>
      deleted.push(p),
    );
    assert.deepEqual([...hooks], []);
    assert.deepEqual(deleted, ['repos/r/hooks/1', 'repos/r/hooks/2', 'repos/r/hooks/3']);
    assert.deepEqual(
      requests.map((r) => r.split(' ').slice(0, 2).join(' ')),
      ['DELETE /api/repos/r/hooks/1', 'DELETE /api/repos/r/hooks/2', 'DELETE /api/repos/r/hooks/3'],
    );
  });

  it('deleteHooks stops at a failure other than 404 and throws it', async () => {
    hooks.clear();
    hooks.add('1').add('4').add('5');
    failing.add('4');
    const deleted: string[] = [];
    await assert.rejects(
      deleteHooks(api, ['repos/r/hooks/1', 'repos/r/hooks/4', 'repos/r/hooks/5'], (p) =>
        deleted.push(p),
      ),
      (err: unknown) => isProviderApiError(err, 500) && err.url.endsWith('/hooks/4'),
    );
    assert.deepEqual(deleted, ['repos/r/hooks/1']);
    assert.deepEqual(
      [...hooks].sort(),
      ['4', '5'],
      'the hook after the failure is left for the next attempt',
    );
    failing.clear();
  });
});
