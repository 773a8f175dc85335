import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { ActionRecord, OutcomeRecord } from '@ganglion/core';
import {
  freePort,
  KafkaBroker,
  uniquePrefix,
  waitFor,
  withBody,
  type ServiceProcess,
} from '@ganglion/testing';
import { webhookSourceYaml } from './harness.js';
import {
  BusFixture,
  countById,
  sensorYaml,
  startService,
  type TestEvent,
} from './sensor-harness.js';

type ActionOutcome = Extract<OutcomeRecord, { kind: 'action' }>;
const seqOf = (a: ActionRecord): number => (a.events['a']!.data as { seq: number }).seq;

/**
 * Faults under load (issue 17, part 4), with the reconciler, sensor and trigger as processes on
 * a broker this file owns and a real HTTP target: while events flow, the sensor is SIGKILLed,
 * the target goes down, the trigger is SIGKILLed during the outage, the broker is stopped and
 * resumed, and the target comes back. Counted at the end: every event made exactly one action
 * (by action id), every action succeeded once, and the target applied each action id once
 * (requests repeated with the same idempotency key are counted apart).
 */
describe(
  'faults under load: broker restart, sensor and trigger SIGKILLs, target down',
  { timeout: 900_000 },
  () => {
    const cleanup: (() => Promise<unknown>)[] = [];
    after(async () => {
      for (const f of cleanup.reverse()) await f().catch(() => undefined);
    });

    it('0 lost, 0 duplicate effects', { timeout: 900_000 }, async () => {
      const broker = await KafkaBroker.start();
      cleanup.push(() => broker.destroy());
      const targetPort = await freePort();
      /** Requests and applied effects at the target, by idempotency key (the action id). */
      const requests = new Map<string, number>();
      const effects = new Map<string, number>();
      let target: Server | undefined;
      const startTarget = async (): Promise<void> => {
        const server = createServer(
          withBody((req, res) => {
            const key = String(req.headers['idempotency-key']);
            requests.set(key, (requests.get(key) ?? 0) + 1);
            // An idempotent target: a key it has applied is answered 200 and not applied again.
            if (!effects.has(key)) effects.set(key, 1);
            res.writeHead(200).end();
          }),
        );
        await new Promise<void>((r) => server.listen(targetPort, '127.0.0.1', r));
        target = server;
      };
      const stopTarget = async (): Promise<void> => {
        const server = target;
        target = undefined;
        server?.closeAllConnections();
        await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      };
      cleanup.push(stopTarget);
      await startTarget();

      const bus = await new BusFixture({
        brokers: broker.brokers,
        prefix: uniquePrefix('faults'),
        partitions: 3,
        manifests: {
          'eventsource.yaml': webhookSourceYaml('webhook', await freePort(), ['example']),
          'sensor.yaml': sensorYaml(
            'faults',
            [{ name: 'a', eventSourceName: 'webhook', eventName: 'example' }],
            [
              {
                template: {
                  name: 'call',
                  http: {
                    url: `http://127.0.0.1:${targetPort}/effect`,
                    method: 'POST',
                    timeout: 5,
                  },
                },
                // Outlasts the outage below (500 ms doubling: 10 attempts over ~4 min).
                retryStrategy: { steps: 10, duration: '500ms', factor: 2 },
              },
            ],
          ),
        },
      }).start();
      cleanup.push(() => bus.stop());
      const outcomes = (): ActionOutcome[] =>
        bus.outcomes.filter((o): o is ActionOutcome => o.kind === 'action');
      let sensor: ServiceProcess = await bus.sensor('sensor-0');
      let trigger: ServiceProcess = await startService('trigger', bus.env, 'faults-trigger');
      cleanup.push(() => Promise.all([sensor.stop(), trigger.stop()]));

      const total = 3000;
      const events: TestEvent[] = Array.from({ length: total }, (_, seq) => ({
        id: `ev-${seq}`,
        source: 'webhook',
        subject: 'example',
        data: { seq },
      }));
      const faults: string[] = [];
      const t0 = Date.now();
      const note = (what: string): void => {
        faults.push(`${((Date.now() - t0) / 1000).toFixed(1)} s ${what}`);
        console.log(`# fault e2e: ${faults.at(-1)}`);
      };
      // Events at ~40/s for ~75 s, produced as an ingress would: a send the broker did not
      // acknowledge (it is down) is sent again, as a client retries a 503.
      const resent = new Set<number>();
      const sendSlice = async (slice: TestEvent[]): Promise<void> => {
        for (;;) {
          try {
            return await bus.send(slice);
          } catch {
            for (const e of slice) resent.add((e.data as { seq: number }).seq);
            await new Promise((r) => setTimeout(r, 250));
          }
        }
      };
      const sending = (async () => {
        const acks: Promise<void>[] = [];
        for (let i = 0; i < total; i += 4) {
          const due = t0 + (i / 40) * 1000;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
          acks.push(sendSlice(events.slice(i, i + 4)));
        }
        await Promise.all(acks);
      })();

      await waitFor(() => outcomes().length >= 200, { timeoutMs: 120_000, what: '200 outcomes' });
      await sensor.stop('SIGKILL');
      note('sensor SIGKILL');
      sensor = await bus.sensor('sensor-1');
      note('sensor restarted');

      await stopTarget();
      note('target down');
      const downAt = Date.now();
      await waitFor(() => Date.now() - downAt > 5_000, { timeoutMs: 10_000, intervalMs: 250 });
      await trigger.stop('SIGKILL');
      note('trigger SIGKILL (target down)');
      trigger = await startService('trigger', bus.env, 'faults-trigger');
      note('trigger restarted');
      await waitFor(() => Date.now() - downAt > 15_000, { timeoutMs: 60_000, intervalMs: 250 });
      await broker.stop();
      note('broker stopped');
      await waitFor(() => Date.now() - downAt > 22_000, { timeoutMs: 60_000, intervalMs: 250 });
      await broker.resume();
      note('broker resumed');
      await waitFor(() => Date.now() - downAt > 30_000, { timeoutMs: 60_000, intervalMs: 250 });
      await startTarget();
      note('target up');
      await sending;
      note('all events acknowledged by the broker');

      await waitFor(() => new Set(outcomes().map((o) => o.actionId)).size >= total, {
        timeoutMs: 400_000,
        intervalMs: 500,
        what: `outcomes of all ${total} actions`,
      }).catch(async (err: unknown) => {
        console.log(
          `# outcomes ${new Set(outcomes().map((o) => o.actionId)).size}, actions ${bus.actions.length}\n# ${(await bus.diagnose()).split('\n').join('\n# ')}`,
        );
        throw err;
      });
      await bus.drainActions(3);

      const perAction = countById(bus.actions);
      const seqs = new Map<number, number>();
      for (const a of bus.actions) seqs.set(seqOf(a), (seqs.get(seqOf(a)) ?? 0) + 1);
      const lostEvents = events.filter((e) => !seqs.has((e.data as { seq: number }).seq)).length;
      // An event sent again after an unacknowledged send may be on the bus twice (at least once
      // at the ingress): its action may be too; every other action id must be there once.
      const twice = bus.actions.filter((a) => (perAction.get(a.actionId) ?? 0) > 1);
      const duplicateActions = new Set(
        twice.filter((a) => !resent.has(seqOf(a))).map((a) => a.actionId),
      ).size;
      const resentTwice = new Set(twice.map((a) => a.actionId)).size - duplicateActions;
      const ids = [...perAction.keys()];
      const final = new Map<string, ActionOutcome[]>();
      for (const o of outcomes()) final.set(o.actionId, [...(final.get(o.actionId) ?? []), o]);
      const notSucceeded = ids.filter(
        (id) => !final.get(id)?.some((o) => o.status === 'succeeded'),
      );
      const noEffect = ids.filter((id) => !effects.has(id));
      const redelivered = ids.filter((id) => (requests.get(id) ?? 0) > 1).length;
      const doubleOutcome = ids.filter((id) => (final.get(id)?.length ?? 0) > 1).length;
      const retried = outcomes().filter((o) => o.attempts > 1).length;
      console.log(
        [
          `# ---- fault e2e (services as processes, broker of its own) ----`,
          `# faults: ${faults.join('; ')}`,
          `# events ${total} (${resent.size} sent again after the broker did not acknowledge them); actions ${perAction.size} (lost events ${lostEvents}, action ids twice ${duplicateActions}, of re-sent events ${resentTwice})`,
          `# outcomes: succeeded ${ids.length - notSucceeded.length}, other ${notSucceeded.length}; actions retried ${retried}; outcomes recorded twice ${doubleOutcome}`,
          `# target: effects ${effects.size} (one per action id: ${noEffect.length} missing, 0 applied twice by construction of the idempotent target), requests ${[...requests.values()].reduce((a, b) => a + b, 0)}, action ids requested more than once ${redelivered}`,
          `# ----`,
        ].join('\n'),
      );
      assert.equal(lostEvents, 0, 'every event made an action');
      assert.equal(duplicateActions, 0, 'no action id twice on the actions topic');
      assert.deepEqual(notSucceeded.slice(0, 10), [], 'every action succeeded');
      assert.deepEqual(noEffect.slice(0, 10), [], 'every action took effect at the target');
      assert.equal(effects.size, perAction.size, 'no effect without an action');
      assert.ok(retried > 0, 'the outage made actions retry');
    });
  },
);
