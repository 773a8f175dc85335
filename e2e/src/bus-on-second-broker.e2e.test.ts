import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { busTopics, createKafka, type Admin, type Kafka } from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import { freePort, KafkaBroker, kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { eventBusYaml, manifestDir, Stack, TargetServer, webhookSourceYaml } from './harness.js';

const logger = createLogger('e2e', { level: 'error' });

/** A webhook EventSource `name` on the EventBus `bus`: endpoint `/<name>` on `port`. */
const sourceOnBus = (name: string, bus: string, port: number): string =>
  `apiVersion: argoproj.io/v1alpha1\nkind: EventSource\nmetadata: {name: ${name}}\nspec:\n  eventBusName: ${bus}\n  webhook:\n    ${name}: {port: "${port}", endpoint: /${name}, method: POST}\n`;

/** A Sensor `name` on the EventBus `bus` whose http trigger posts `{seq, bus}` to the target, plus a log trigger. */
const sensorOnBus = (
  name: string,
  bus: string,
  source: string,
  targetPort: number,
): string => `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: ${name}}
spec:
  eventBusName: ${bus}
  dependencies:
    - {name: dep, eventSourceName: ${source}, eventName: ${source}}
  triggers:
    - template:
        name: ${name}-log
        log: {}
    - template:
        name: ${name}-http
        http:
          url: http://127.0.0.1:${targetPort}/${name}
          method: POST
          payload:
            - {src: {dependencyName: dep, dataKey: body.seq}, dest: seq}
`;

/**
 * An EventBus whose `spec.kafka.url` names a second Kafka cluster (a broker this file starts),
 * beside the installation's bus: the webhook ingress, the sensor and the trigger each work on
 * that bus's cluster, so an event posted to its source goes webhook → second broker → sensor →
 * second broker → trigger → HTTP target, and none of it touches the installation's cluster,
 * while the installation's bus keeps working in the same processes.
 */
describe('an EventBus on a second Kafka cluster', { timeout: 600_000 }, () => {
  let second: KafkaBroker;
  let installation: Kafka;
  let remote: Kafka;
  let stack: Stack;
  let target: TargetServer;
  /** The webhook ports of the two EventSources. */
  const ports = { far: 0, near: 0 };
  const admins: Admin[] = [];
  const prefix = uniquePrefix('e2e-second');
  const remoteTopics = busTopics(`${prefix}-remote`);
  const localTopics = busTopics(`${prefix}-local`);

  before(async () => {
    const installationBrokers = await kafkaBrokers();
    second = await KafkaBroker.start();
    installation = createKafka({
      brokers: installationBrokers.split(','),
      clientId: `${prefix}-check`,
      logger,
    });
    remote = createKafka({ brokers: [second.brokers], clientId: `${prefix}-check`, logger });
    target = await new TargetServer().start();
    ports.far = await freePort();
    ports.near = await freePort();
    const dir = manifestDir({
      'eventbus.yaml': eventBusYaml(localTopics.events),
      'remote-bus.yaml': `apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: remote}\nspec:\n  kafka:\n    url: ${second.brokers}\n    topic: ${remoteTopics.events}\n`,
      'remote-source.yaml': sourceOnBus('far', 'remote', ports.far),
      'local-source.yaml': webhookSourceYaml('near', ports.near, ['near']),
      'remote-sensor.yaml': sensorOnBus('far', 'remote', 'far', target.port),
      'local-sensor.yaml': sensorOnBus('near', 'default', 'near', target.port),
    });
    stack = await new Stack(installationBrokers, prefix, dir, {
      metrics: true,
      env: { GANGLION_LAG_POLL_MS: '300' },
    }).start();
  });

  after(async () => {
    await Promise.all(admins.map((a) => a.disconnect()));
    await stack?.stop();
    await target?.stop();
    await second?.destroy();
  });

  const adminOf = async (kafka: Kafka): Promise<Admin> => {
    const admin = kafka.admin();
    await admin.connect();
    admins.push(admin);
    return admin;
  };

  /** The records of `topic` on a cluster (committed ones), read from the start until `done` holds. */
  const readUntil = async (
    kafka: Kafka,
    topic: string,
    done: (values: string[]) => boolean,
  ): Promise<string[]> => {
    const values: string[] = [];
    const consumer = kafka.consumer({
      groupId: `${prefix}-read-${topic}-${Date.now()}`,
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => void values.push(String(message.value)),
      });
      await waitFor(() => done(values), {
        timeoutMs: 30_000,
        what: `the expected records on ${topic}`,
      });
    } finally {
      await consumer.disconnect();
    }
    return values;
  };

  const post = (path: 'far' | 'near', seq: string): Promise<Response> =>
    fetch(`http://127.0.0.1:${ports[path]}/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ seq }),
    });

  it('delivers an event of the bus on the second cluster end to end, with its events, actions and outcomes on that cluster only', async () => {
    const res = await post('far', 'far-1');
    assert.equal(res.status, 200);
    const call = await waitFor(
      () =>
        target.calls.find((c) => c.url === '/far' && (c.body as { seq?: string }).seq === 'far-1'),
      { timeoutMs: 60_000, what: 'the http trigger call of the remote bus' },
    );
    assert.deepEqual(call.body, { seq: 'far-1' });
    await waitFor(
      () =>
        stack
          .get('trigger')
          .records()
          .some((r) => r['trigger'] === 'far-log' && String(r['msg']).includes('far-1')),
      { timeoutMs: 15_000, what: 'the log trigger to print the remote event' },
    );

    // On the second cluster: the event, the sensor's actions (one per trigger) and the trigger's outcomes.
    await readUntil(remote, remoteTopics.events, (v) => v.some((s) => s.includes('far-1')));
    await readUntil(
      remote,
      remoteTopics.actions,
      (v) => v.filter((s) => s.includes('far-1')).length === 2,
    );
    await readUntil(
      remote,
      remoteTopics.outcomes,
      (v) => v.filter((s) => s.includes('"succeeded"')).length >= 2,
    );
    const remoteAdmin = await adminOf(remote);
    const remoteGroups = (await remoteAdmin.listGroups()).groups.map((g) => g.groupId);
    assert.ok(
      remoteGroups.includes(`ganglion-sensor.${remoteTopics.events}`),
      `the sensor consumes the remote bus on the second cluster (groups: ${remoteGroups.join(', ')})`,
    );
    assert.ok(
      remoteGroups.includes('ganglion-trigger'),
      'the trigger consumes the remote actions on the second cluster',
    );

    // Nothing of the remote bus on the installation's cluster.
    const installationAdmin = await adminOf(installation);
    const installationTopics = await installationAdmin.listTopics();
    for (const topic of Object.values(remoteTopics))
      assert.ok(!installationTopics.includes(topic), `${topic} is not on the installation cluster`);
    const installationGroups = (await installationAdmin.listGroups()).groups.map((g) => g.groupId);
    assert.ok(
      !installationGroups.includes(`ganglion-sensor.${remoteTopics.events}`),
      'no sensor group of the remote bus on the installation cluster',
    );

    // Consumer lag is read where the consumers run: the remote groups' series come from the second cluster.
    const lagOf = async (
      service: 'sensor' | 'trigger',
      group: string,
      topic: string,
    ): Promise<string[]> =>
      (await (await fetch(stack.metricsUrl(service))).text())
        .split('\n')
        .filter((l) => l.startsWith(`ganglion_consumer_lag{group="${group}",topic="${topic}",`));
    await waitFor(
      async () =>
        (await lagOf('sensor', `ganglion-sensor.${remoteTopics.events}`, remoteTopics.events))
          .length > 0,
      { timeoutMs: 30_000, what: "the remote sensor group's lag series" },
    );
    await waitFor(
      async () => (await lagOf('trigger', 'ganglion-trigger', remoteTopics.actions)).length > 0,
      { timeoutMs: 30_000, what: "the remote trigger group's lag series" },
    );
  });

  it("keeps the installation's bus on the installation's cluster in the same processes", async () => {
    assert.equal((await post('near', 'near-1')).status, 200);
    await waitFor(
      () =>
        target.calls.some(
          (c) => c.url === '/near' && (c.body as { seq?: string }).seq === 'near-1',
        ),
      { timeoutMs: 60_000, what: 'the http trigger call of the local bus' },
    );
    await readUntil(
      installation,
      localTopics.actions,
      (v) => v.filter((s) => s.includes('near-1')).length === 2,
    );
    const remoteTopicList = await (await adminOf(remote)).listTopics();
    for (const topic of Object.values(localTopics))
      assert.ok(!remoteTopicList.includes(topic), `${topic} is not on the second cluster`);
    // And the remote bus still works after the local one was used.
    assert.equal((await post('far', 'far-2')).status, 200);
    await waitFor(
      () =>
        target.calls.some((c) => c.url === '/far' && (c.body as { seq?: string }).seq === 'far-2'),
      { timeoutMs: 60_000, what: 'the second remote event' },
    );
  });
});
