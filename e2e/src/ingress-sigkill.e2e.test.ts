import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCloudEvent, eventData } from '@ganglion/eventbus';
import { freePort, kafkaBrokers, ServiceProcess, uniquePrefix, waitFor } from '@ganglion/testing';
import { ingressTopics, type BusCollector } from './harness.js';

/**
 * ingress-webhook as its own process under load, killed with SIGKILL: every request it answered
 * 2xx is on the bus (the answer comes only after Kafka acknowledged the event), counted by a
 * sequence number in each event. A new process then serves the route again.
 */
describe(
  'ingress-webhook: SIGKILL under load loses no acknowledged event',
  { timeout: 180_000 },
  () => {
    const prefix = uniquePrefix('kill');
    const busTopic = `${prefix}-bus`;
    const resourcesTopic = `${prefix}-resources`;
    const onBus = new Set<number>();
    let brokers: string;
    let port: number;
    let consumer: BusCollector;
    const procs: ServiceProcess[] = [];

    async function startIngress(): Promise<ServiceProcess> {
      const proc = new ServiceProcess('ingress-webhook', {
        healthPort: await freePort(),
        env: {
          KAFKA_BROKERS: brokers,
          GANGLION_RESOURCES_TOPIC: resourcesTopic,
          GANGLION_HOST: '127.0.0.1',
          GANGLION_INSTANCE_ID: `${prefix}-${procs.length}`,
          LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? 'warn',
        },
        ...(process.env['E2E_VERBOSE']
          ? { onLine: (l: string) => console.log(`[ingress-webhook] ${l}`) }
          : {}),
      });
      procs.push(proc.start());
      await proc.ready();
      return proc;
    }

    const post = (seq: number): Promise<Response> =>
      fetch(`http://127.0.0.1:${port}/load`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ seq }),
      });

    before(async () => {
      brokers = await kafkaBrokers();
      port = await freePort();
      consumer = await ingressTopics({
        brokers,
        prefix,
        resourcesTopic,
        busTopic,
        busPartitions: 3,
        eventSource: {
          name: 'load',
          spec: { webhook: { load: { port: String(port), endpoint: '/load', method: 'POST' } } },
        },
        onEvent: (message) => {
          const data = eventData(decodeCloudEvent(message)) as { body: { seq: number } };
          onBus.add(data.body.seq);
        },
      });
      await startIngress();
    });

    after(async () => {
      await Promise.all(procs.map((p) => p.stop()));
      await consumer?.disconnect();
    });

    it('every 2xx event is on the bus after a SIGKILL under load', async () => {
      await waitFor(async () => (await post(-1)).status === 200, { what: 'the route served' });
      const acknowledged = new Set<number>();
      let refused = 0;
      let failed = 0;
      let next = 0;
      let stop = false;
      const clients = 32;
      const loops = Array.from({ length: clients }, async () => {
        while (!stop) {
          const seq = next++;
          try {
            const res = await post(seq);
            await res.arrayBuffer();
            if (res.status >= 200 && res.status < 300) acknowledged.add(seq);
            else refused++;
          } catch {
            failed++;
          }
        }
      });
      await waitFor(() => acknowledged.size >= 2000, {
        timeoutMs: 60_000,
        what: '2000 acknowledged events',
      });
      await procs[0]!.stop('SIGKILL');
      stop = true;
      await Promise.all(loops);
      const lost = (): number[] => [...acknowledged].filter((s) => !onBus.has(s));
      await waitFor(() => lost().length === 0, {
        timeoutMs: 60_000,
        what: `every acknowledged event on the bus (missing: ${lost().slice(0, 10).join(',')})`,
      });
      const unacknowledgedOnBus = [...onBus].filter((s) => s >= 0 && !acknowledged.has(s)).length;
      console.log(
        `ingress SIGKILL under load: ${next} requests, ${acknowledged.size} acknowledged (2xx), ` +
          `${refused} refused, ${failed} cut by the kill; acknowledged on the bus ${acknowledged.size}, ` +
          `lost 0; on the bus without a 2xx (in flight at the kill) ${unacknowledgedOnBus}`,
      );
      assert.ok(
        failed > 0 || refused > 0 || acknowledged.size < next,
        'the kill hit requests in flight',
      );

      // A new process serves the route again.
      await startIngress();
      const seq = next + 1;
      await waitFor(async () => (await post(seq)).status === 200, { what: 'the restarted route' });
      await waitFor(() => onBus.has(seq), { what: 'the event after the restart' });
    });
  },
);
