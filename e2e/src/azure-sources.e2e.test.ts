import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { EventSource } from '@ganglion/api';
import {
  freePort,
  kafkaBrokers,
  ServiceProcess,
  uniquePrefix,
  waitFor,
  type ServiceName,
} from '@ganglion/testing';
import { ingressTopics, type BusCollector } from './harness.js';

/**
 * The generated services of the two Azure source types that are not verified against a server
 * (no Service Bus or Event Hubs server can be had here), as processes: each starts, becomes
 * ready, runs its EventSource (connecting to the configured endpoint, here a loopback TCP port
 * that closes every connection, again and again, with a warning naming the error), publishes
 * nothing, and stops on SIGTERM.
 */
const cases: {
  service: ServiceName;
  spec: (port: number) => EventSource['spec'];
  env: Record<string, string>;
}[] = [
  {
    service: 'ingress-azureservicebus',
    spec: () =>
      ({
        azureServiceBus: {
          orders: {
            connectionString: { name: 'sb', key: 'conn' },
            queueName: 'orders',
            connectionBackoff: { duration: '500ms', steps: 100, factor: 1 },
          },
        },
      }) as EventSource['spec'],
    env: {},
  },
  {
    service: 'ingress-azureeventshub',
    spec: (port) =>
      ({
        azureEventsHub: {
          telemetry: {
            fqdn: `127.0.0.1:${port}`,
            hubName: 'telemetry',
            sharedAccessKeyName: { name: 'eh', key: 'name' },
            sharedAccessKey: { name: 'eh', key: 'key' },
            connectionBackoff: { duration: '500ms', steps: 100, factor: 1 },
          },
        },
      }) as EventSource['spec'],
    env: { GANGLION_SECRET_EH_NAME: 'listen', GANGLION_SECRET_EH_KEY: 'a2V5' },
  },
];

for (const c of cases) {
  describe(
    `${c.service} as a process, against an endpoint that is not Azure`,
    { timeout: 600_000 },
    () => {
      const prefix = uniquePrefix(c.service.replace('ingress-', ''));
      let server: Server;
      let port = 0;
      let connections = 0;
      let events = 0;
      const sockets = new Set<Socket>();
      let collector: BusCollector;
      let proc: ServiceProcess | undefined;

      before(async () => {
        server = createServer((s) => {
          connections++;
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.destroy();
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        port = (server.address() as { port: number }).port;
        collector = await ingressTopics({
          brokers: await kafkaBrokers(),
          prefix,
          resourcesTopic: `${prefix}-resources`,
          busTopic: `${prefix}-bus`,
          busPartitions: 1,
          eventSource: { name: 'azure', spec: c.spec(port) },
          onEvent: () => events++,
        });
      });

      after(async () => {
        await proc?.stop();
        await collector?.disconnect();
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => server?.close(() => resolve()));
      });

      it('starts, connects to the endpoint again and again with a warning, publishes nothing, stops on SIGTERM', async () => {
        proc = new ServiceProcess(c.service, {
          healthPort: await freePort(),
          env: {
            KAFKA_BROKERS: await kafkaBrokers(),
            GANGLION_RESOURCES_TOPIC: `${prefix}-resources`,
            GANGLION_INSTANCE_ID: `${prefix}-0`,
            LOG_LEVEL: 'warn',
            GANGLION_SECRET_SB_CONN: `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=k;SharedAccessKey=a2V5;UseDevelopmentEmulator=true`,
            ...c.env,
          },
          ...(process.env['E2E_VERBOSE']
            ? { onLine: (l: string) => console.log(`[${c.service}] ${l}`) }
            : {}),
        });
        proc.start();
        await proc.ready(120_000);
        await waitFor(() => connections >= 3, {
          timeoutMs: 180_000,
          what: `three connections from ${c.service} to the loopback endpoint`,
        });
        const p = proc;
        await waitFor(
          () =>
            p
              .records()
              .some(
                (r) =>
                  r['level'] === 'warn' &&
                  /broker source (not connected|connection lost)/.test(
                    String(r['msg'] ?? r['message']),
                  ),
              ),
          { timeoutMs: 60_000, what: 'a warning that the source is not connected' },
        );
        assert.equal(events, 0);
        // Nest re-raises SIGTERM after its shutdown hooks, so a clean stop ends by the signal
        // too; a stop that hangs is SIGKILLed after the grace period instead.
        const grace = 30_000;
        const started = Date.now();
        await p.stop('SIGTERM', grace);
        proc = undefined;
        assert.ok(Date.now() - started < grace, `${c.service} stopped within ${grace} ms`);
      });
    },
  );
}
