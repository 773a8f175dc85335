import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { freePort, kafkaBrokers, ServiceProcess, uniquePrefix, waitFor } from '@ganglion/testing';
import { eventBusYaml, manifestDir, Stack, TargetServer } from './harness.js';

/**
 * ingress-github and ingress-gitlab as their own processes beside the core stack: a signed
 * GitHub push and a GitLab push with its token reach a sensor's http trigger; a badly signed
 * delivery gets 401 and triggers nothing.
 */
describe('github and gitlab ingress services → sensor → trigger', { timeout: 300_000 }, () => {
  let stack: Stack;
  let target: TargetServer;
  const extra: ServiceProcess[] = [];
  let githubPort = 0;
  let gitlabPort = 0;
  const SECRET = 'e2e-github-secret';
  const TOKEN = 'e2e-gitlab-token';

  before(async () => {
    const brokers = await kafkaBrokers();
    target = await new TargetServer().start();
    const prefix = uniquePrefix('git');
    githubPort = await freePort();
    gitlabPort = await freePort();
    const dir = manifestDir({
      'eventbus.yaml': eventBusYaml(`${prefix}-bus`),
      'sources.yaml': `apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata: {name: git}
spec:
  github:
    repo:
      webhook: {port: "${githubPort}", endpoint: /push, method: POST}
      repositories: [{owner: Codertocat, names: [Hello-World]}]
      events: [push]
      webhookSecret: {name: git-secrets, key: github}
  gitlab:
    project:
      webhook: {port: "${gitlabPort}", endpoint: /gitlab, method: POST}
      projects: ["15"]
      events: [PushEvents]
      accessToken: {name: git-secrets, key: gitlab}
      secretToken: {name: git-secrets, key: gitlab}
      gitlabBaseURL: http://127.0.0.1:1
`,
      'sensor.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: git}
spec:
  dependencies:
    - {name: gh, eventSourceName: git, eventName: repo}
    - {name: gl, eventSourceName: git, eventName: project}
  triggers:
    - template:
        name: on-github
        conditions: gh
        http:
          url: http://127.0.0.1:${target.port}/github
          method: POST
          payload:
            - {src: {dependencyName: gh, dataKey: body.ref}, dest: ref}
            - {src: {dependencyName: gh, dataKey: body.X-GitHub-Event}, dest: event}
    - template:
        name: on-gitlab
        conditions: gl
        http:
          url: http://127.0.0.1:${target.port}/gitlab
          method: POST
          payload:
            - {src: {dependencyName: gl, dataKey: body.project.path_with_namespace}, dest: project}
`,
    });
    stack = await new Stack(brokers, prefix, dir).start();
    for (const name of ['ingress-github', 'ingress-gitlab'] as const) {
      const proc = new ServiceProcess(name, {
        healthPort: await freePort(),
        env: {
          KAFKA_BROKERS: brokers,
          GANGLION_RESOURCES_TOPIC: `${prefix}-resources`,
          GANGLION_HOST: '127.0.0.1',
          GANGLION_INSTANCE_ID: `${prefix}-0`,
          GANGLION_SECRET_GIT_SECRETS_GITHUB: SECRET,
          GANGLION_SECRET_GIT_SECRETS_GITLAB: TOKEN,
        },
        ...(process.env['E2E_VERBOSE']
          ? { onLine: (l: string) => console.log(`[${name}] ${l}`) }
          : {}),
      });
      extra.push(proc.start());
    }
    await Promise.all(extra.map((p) => p.ready()));
  });

  after(async () => {
    await Promise.all(extra.map((p) => p.stop()));
    await stack?.stop();
    await target?.stop();
  });

  it('a signed GitHub push fires the github trigger; a badly signed one gets 401 and fires nothing', async () => {
    const push = (ref: string): string =>
      JSON.stringify({
        ref,
        repository: {
          full_name: 'Codertocat/Hello-World',
          name: 'Hello-World',
          owner: { login: 'Codertocat' },
        },
        commits: [],
      });
    const forged = push('refs/heads/forged');
    const bad = await fetch(`http://127.0.0.1:${githubPort}/push`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-GitHub-Event': 'push',
        'X-GitHub-Delivery': 'e2e-bad',
        'X-Hub-Signature-256': `sha256=${createHmac('sha256', 'wrong').update(forged).digest('hex')}`,
      },
      body: forged,
    });
    assert.equal(bad.status, 401);
    const body = push('refs/heads/main');
    const res = await fetch(`http://127.0.0.1:${githubPort}/push`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-GitHub-Event': 'push',
        'X-GitHub-Delivery': 'e2e-good',
        'X-Hub-Signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      },
      body,
    });
    assert.equal(res.status, 200);
    const call = await waitFor(() => target.calls.find((c) => c.url === '/github'), {
      timeoutMs: 60_000,
      what: 'the github trigger',
    });
    assert.deepEqual(call.body, { ref: 'refs/heads/main', event: 'push' });
    assert.equal(target.calls.filter((c) => c.url === '/github').length, 1);
  });

  it('a GitLab push with the secret token fires the gitlab trigger', async () => {
    const wrong = await fetch(`http://127.0.0.1:${gitlabPort}/gitlab`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Gitlab-Event': 'Push Hook',
        'X-Gitlab-Token': 'nope',
      },
      body: '{}',
    });
    assert.equal(wrong.status, 401);
    const res = await fetch(`http://127.0.0.1:${gitlabPort}/gitlab`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Gitlab-Event': 'Push Hook',
        'X-Gitlab-Token': TOKEN,
      },
      body: JSON.stringify({
        object_kind: 'push',
        ref: 'refs/heads/master',
        project: { path_with_namespace: 'mike/diaspora' },
      }),
    });
    assert.equal(res.status, 200);
    const call = await waitFor(() => target.calls.find((c) => c.url === '/gitlab'), {
      timeoutMs: 60_000,
      what: 'the gitlab trigger',
    });
    assert.deepEqual(call.body, { project: 'mike/diaspora' });
  });
});
