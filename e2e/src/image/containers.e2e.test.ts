import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import {
  ensureGanglionImage,
  freePort,
  kafkaBrokers,
  podman,
  PodmanService,
  SERVICES,
  uniquePrefix,
  waitFor,
} from '@ganglion/testing';
import {
  eventBusYaml,
  manifestDir,
  TargetServer,
  webhookHttpSensorYaml,
  webhookSourceYaml,
} from '../harness.js';

/**
 * One Ganglion service from the image, as a pod runs it: the service's name as the argument,
 * uid 10001, a read-only root filesystem with a writable /tmp (the charts' emptyDir).
 *
 * Host networking: the container shares the host's network namespace, so it reaches the test's
 * Kafka broker and target server on loopback and the test reaches its ports there; it creates no
 * bridge, no NAT rule and no route, and the services only connect where their settings point
 * (loopback), so no packet leaves the machine (docs/deployment.md).
 */
class GanglionContainer extends GenericContainer {
  constructor(image: string, service: string) {
    super(image);
    this.hostConfig.ReadonlyRootfs = true;
    this.withCommand([service])
      .withNetworkMode('host')
      .withTmpFs({ '/tmp': 'rw,size=64m' })
      .withPullPolicy({ shouldPull: () => false });
  }
}

/**
 * The webhook pipeline with every service a container started through testcontainers, on
 * Debian's podman serving the Docker API (no Docker daemon here), from the locally built image.
 */
describe('the services as containers (testcontainers on podman)', { timeout: 45 * 60_000 }, () => {
  let podmanApi: PodmanService;
  let target: TargetServer;
  let webhookUrl: string;
  let dir: string;
  const label = uniquePrefix('tc');
  const containers = new Map<string, StartedTestContainer>();
  const healthPorts = new Map<string, number>();

  before(
    async () => {
      const t0 = Date.now();
      const [{ image }, api, brokers] = await Promise.all([
        ensureGanglionImage(),
        PodmanService.start(),
        kafkaBrokers(),
      ]);
      podmanApi = api;
      process.env['DOCKER_HOST'] = podmanApi.dockerHost;
      // No reaper: its image would come from Docker Hub. The test removes its containers itself.
      process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
      target = await new TargetServer().start();
      const prefix = uniquePrefix('tc');
      const port = await freePort();
      webhookUrl = `http://127.0.0.1:${port}/example`;
      dir = manifestDir({
        'eventbus.yaml': eventBusYaml(`${prefix}-bus`),
        'eventsource.yaml': webhookSourceYaml('webhook', port, ['example']),
        'sensor.yaml': webhookHttpSensorYaml('webhook', `http://127.0.0.1:${target.port}/notify`, {
          'body.message': 'text',
        }),
      });
      // The services run as uid 10001: the mounted manifests must be readable by it.
      chmodSync(dir, 0o755);
      for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
      const started = Date.now();
      for (const name of SERVICES) {
        const healthPort = await freePort();
        healthPorts.set(name, healthPort);
        const container = await new GanglionContainer(image, name)
          .withName(`${label}-${name}`)
          .withLabels({ 'io.ganglion.test': label })
          .withBindMounts([{ source: dir, target: '/manifests', mode: 'ro' }])
          .withEnvironment({
            KAFKA_BROKERS: brokers,
            GANGLION_RESOURCES_TOPIC: `${prefix}-resources`,
            GANGLION_RESOURCES_DIR: '/manifests',
            GANGLION_HOST: '127.0.0.1',
            GANGLION_INSTANCE_ID: `${prefix}-0`,
            GANGLION_HEALTH_PORT: String(healthPort),
            GANGLION_METRICS_PORT: '0',
            LOG_LEVEL: 'info',
          })
          .start();
        containers.set(name, container);
        // The reconciler publishes the resources the others wait for; start it first.
        if (name === 'reconciler') await ready(name);
      }
      await Promise.all(SERVICES.map((name) => ready(name)));
      console.log(
        `# image, podman API and broker in ${started - t0} ms; ${SERVICES.length} containers ready in ${Date.now() - started} ms`,
      );
    },
    { timeout: 40 * 60_000 },
  );

  async function ready(name: string): Promise<void> {
    const url = `http://127.0.0.1:${healthPorts.get(name)}/readyz`;
    await waitFor(
      async () => {
        const running = (await containers.get(name)!.exec(['true'])).exitCode === 0;
        if (!running) throw new Error(`${name} container is not running`);
        return (await fetch(url)).status === 200;
      },
      { timeoutMs: 180_000, intervalMs: 250, what: `${name} (container) to be ready` },
    ).catch(async (err: Error) => {
      const logs = await containers.get(name)?.logs();
      let text = '';
      if (logs) for await (const chunk of logs) text += String(chunk);
      throw new Error(`${err.message}\n${name} logs:\n${text.slice(-3000)}`);
    });
  }

  after(async () => {
    await Promise.all([...containers.values()].map((c) => c.stop({ timeout: 10_000 })));
    // Whatever a failed start left behind (no reaper runs).
    const left = await podman(['ps', '-aq', '--filter', `label=io.ganglion.test=${label}`]);
    const ids = left.stdout.split('\n').filter(Boolean);
    if (ids.length) await podman(['rm', '-f', ...ids]);
    await podmanApi?.stop();
    await target?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('an event posted to the webhook container reaches the target through the sensor and trigger containers', async () => {
    const t0 = Date.now();
    const res = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: 'from a container' }),
    });
    assert.equal(res.status, 200, await res.text());
    const call = await waitFor(() => target.calls.find((c) => c.url === '/notify'), {
      timeoutMs: 60_000,
      what: 'the http trigger call from the trigger container',
    });
    assert.deepEqual(call.body, { text: 'from a container' });
    console.log(`# event delivered through the containers in ${Date.now() - t0} ms`);
  });

  it('runs each service as uid 10001 on a read-only root filesystem', async () => {
    const c = containers.get('sensor')!;
    const id = await c.exec(['id', '-u']);
    assert.equal(id.output.trim(), '10001');
    const write = await c.exec(['sh', '-c', 'touch /app/x || touch /x']);
    assert.notEqual(write.exitCode, 0);
    assert.match(write.output, /Read-only file system/);
    const tmp = await c.exec(['sh', '-c', 'touch /tmp/x && echo ok']);
    assert.equal(tmp.output.trim(), 'ok');
  });
});
