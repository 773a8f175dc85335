import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { gitlabSource } from '../gitlab/gitlab.source.js';
import { webhookSource } from '../webhook/webhook.source.js';
import {
  BusFixture,
  eventSource,
  MemoryStore,
  secretEnv,
  startRunner,
  type RunnerFixture,
} from './push-harness.test-support.js';

/**
 * A missing or empty authentication secret never leaves a route open: the route is not served
 * (404 from a real HTTP client) while the routes beside it on the same port are.
 */
describe(
  'push routes whose authentication secret is missing or empty',
  { timeout: 120_000 },
  () => {
    let bus: BusFixture;
    const store = new MemoryStore();
    const runners: RunnerFixture<unknown>[] = [];
    let port = 0;
    let gitlabPort = 0;
    const env = secretEnv({ auth: { token: 'tok', empty: '', blank: '  ' } });

    before(async () => {
      bus = await new BusFixture(await kafkaBrokers(), `${uniquePrefix('routesec')}-bus`).start();
      port = await freePort();
      gitlabPort = await freePort();
      const route = (endpoint: string, authSecret?: object) => ({
        port: String(port),
        endpoint,
        method: 'POST',
        ...(authSecret ? { authSecret } : {}),
      });
      store.put(bus.bus());
      store.put(
        eventSource('hooks', {
          webhook: {
            good: route('/good', { name: 'auth', key: 'token' }),
            empty: route('/empty', { name: 'auth', key: 'empty' }),
            blank: route('/blank', { name: 'auth', key: 'blank' }),
            optional: route('/optional', { name: 'auth', key: 'nope', optional: true }),
            open: route('/open'),
          },
        }),
      );
      store.put(
        eventSource('lab', {
          gitlab: {
            empty: {
              webhook: { port: String(gitlabPort), endpoint: '/empty', method: 'POST' },
              projects: ['1'],
              events: ['PushEvents'],
              secretToken: { name: 'auth', key: 'empty' },
            },
            optional: {
              webhook: { port: String(gitlabPort), endpoint: '/optional', method: 'POST' },
              projects: ['1'],
              events: ['PushEvents'],
              secretToken: { name: 'auth', key: 'nope', optional: true },
            },
            good: {
              webhook: { port: String(gitlabPort), endpoint: '/good', method: 'POST' },
              projects: ['1'],
              events: ['PushEvents'],
              secretToken: { name: 'auth', key: 'token' },
            },
          },
        }),
      );
      runners.push((await startRunner(webhookSource, store, bus.clients, { env })) as never);
      runners.push((await startRunner(gitlabSource, store, bus.clients, { env })) as never);
    });

    after(async () => {
      for (const r of runners) await r.close();
      await bus?.stop();
    });

    const post = (p: number, path: string, headers: Record<string, string> = {}) =>
      fetch(`http://127.0.0.1:${p}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: '{"n":1}',
      });

    it('webhook authSecret: empty, blank or optional-and-missing → not served; set → served; none → open as configured', async () => {
      await waitFor(async () => (await post(port, '/open')).status === 200, { what: 'the routes' });
      assert.equal((await post(port, '/good', { Authorization: 'Bearer tok' })).status, 200);
      assert.equal((await post(port, '/good')).status, 401);
      for (const path of ['/empty', '/blank', '/optional']) {
        const auths: Record<string, string>[] = [
          {},
          { Authorization: 'Bearer ' },
          { Authorization: 'Bearer  ' },
        ];
        for (const auth of auths) {
          const res = await post(port, path, auth);
          assert.equal(res.status, 404, `${path} ${JSON.stringify(auth)}: ${await res.text()}`);
        }
      }
    });

    it('gitlab secretToken: empty or optional-and-missing → not served', async () => {
      const push = { 'X-Gitlab-Event': 'Push Hook' };
      await waitFor(
        async () =>
          (await post(gitlabPort, '/good', { ...push, 'X-Gitlab-Token': 'tok' })).status === 200,
        { what: 'the gitlab route' },
      );
      for (const path of ['/empty', '/optional'])
        assert.equal((await post(gitlabPort, path, { ...push, 'X-Gitlab-Token': '' })).status, 404);
      // The 200 came after the broker acknowledged it; the fixture's consumer reads it soon after.
      await waitFor(() => bus.from('lab').length >= 1, {
        what: 'the event of the good route on the bus',
      });
    });
  },
);
