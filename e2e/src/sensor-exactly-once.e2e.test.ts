import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { actionId, type SensorEvent } from '@ganglion/core';
import { kafkaBrokers, uniquePrefix, waitFor, type ServiceProcess } from '@ganglion/testing';
import { BusFixture, countById, sensorYaml, type TestEvent } from './sensor-harness.js';

const SENSORS = 4;
const PARTITIONS = 4;

/**
 * A 2-dependency workload whose expected actions are known in advance: sensor `c<k>` joins
 * `a && b`, both dependencies on event source `cr-<k>` (one key, so one partition, in order),
 * told apart by a data filter; pairs a_i, b_i are produced in order, so each pair fires once.
 */
function workload(total: number): { slices: TestEvent[][]; expected: Set<string> } {
  const pairsPerSensor = total / 2 / SENSORS;
  const events: TestEvent[] = [];
  // Slices: every sensor's a_i, then every sensor's b_i, produced separately, so that join
  // state is pending between batches (and must survive a kill).
  const slices: TestEvent[][] = [];
  const expected = new Set<string>();
  const ctx = (id: string, source: string): SensorEvent => ({
    context: { id, source, specversion: '1.0', type: 'webhook', subject: 'ev' },
    data: null,
  });
  for (let i = 0; i < pairsPerSensor; i++) {
    slices.push([], []);
    for (let k = 0; k < SENSORS; k++) {
      const source = `cr-${k}`;
      const a = `c${k}-${i}-a`;
      const b = `c${k}-${i}-b`;
      const ea: TestEvent = { id: a, source, subject: 'ev', data: { kind: 'a', i } };
      const eb: TestEvent = { id: b, source, subject: 'ev', data: { kind: 'b', i } };
      events.push(ea, eb);
      slices[slices.length - 2]!.push(ea);
      slices[slices.length - 1]!.push(eb);
      expected.add(actionId(`default/c${k}/t`, { a: ctx(a, source), b: ctx(b, source) }));
    }
  }
  assert.equal(events.length, total);
  return { slices, expected };
}

function manifests(): Record<string, string> {
  const out: Record<string, string> = {};
  for (let k = 0; k < SENSORS; k++) {
    const dep = (name: string): object => ({
      name,
      eventSourceName: `cr-${k}`,
      eventName: 'ev',
      filters: { data: [{ path: 'kind', type: 'string', value: [name] }] },
    });
    out[`c${k}.yaml`] = sensorYaml(
      `c${k}`,
      [dep('a'), dep('b')],
      [{ template: { name: 't', log: {} } }],
    );
  }
  return out;
}

/** Every expected action exactly once, nothing else. */
async function assertExactlyOnce(bus: BusFixture, expected: Set<string>): Promise<void> {
  await bus.drainActions(PARTITIONS);
  const counts = countById(bus.actions);
  const missing = [...expected].filter((id) => !counts.has(id));
  const twice = [...counts].filter(([, n]) => n > 1);
  const unexpected = [...counts.keys()].filter((id) => !expected.has(id));
  if (twice.length + unexpected.length > 0) {
    // What went wrong, from the data: which actions, built from which events, read where.
    const bad = new Set([...twice.map(([id]) => id), ...unexpected]);
    bus.actions.forEach((a, i) => {
      if (!bad.has(a.actionId)) return;
      const events = Object.entries(a.events)
        .map(([dep, e]) => `${dep}=${e.context.id}`)
        .join(' ');
      console.log(
        `# ${expected.has(a.actionId) ? 'duplicated' : 'unexpected'} ${a.actionId.slice(0, 12)} ${a.sensor} ${events} at ${bus.actionAt[i]} created ${a.createdAt}`,
      );
    });
  }
  assert.deepEqual(
    { missing: missing.length, duplicated: twice.length, unexpected: unexpected.length },
    { missing: 0, duplicated: 0, unexpected: 0 },
  );
  assert.equal(bus.actions.length, expected.size);
}

const distinct = (bus: BusFixture): number => countById(bus.actions).size;

/**
 * The workload's slices split at four fifths (an even index: an `a` slice and its `b` slice
 * stay together). The test sends the second part after its last kill or scale-in, so that
 * step lands while events are still to come however fast the sensor caught up.
 */
function holdBack(slices: TestEvent[][]): [TestEvent[][], TestEvent[][]] {
  const cut = Math.floor((slices.length * 4) / 5 / 2) * 2;
  return [slices.slice(0, cut), slices.slice(cut)];
}

describe('sensor exactly-once under failures', { timeout: 600_000 }, () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => undefined);
  });

  it('10,000 events through a 2-dependency sensor, SIGKILLed three times: every action exactly once', async () => {
    const bus = await new BusFixture({
      brokers: await kafkaBrokers(),
      prefix: uniquePrefix('crash'),
      manifests: manifests(),
      partitions: PARTITIONS,
    }).start();
    cleanup.push(() => bus.stop());
    const { slices, expected } = workload(10_000);
    let sensor: ServiceProcess = await bus.sensor('crash-0');
    cleanup.push(() => sensor.stop());
    const t0 = Date.now();
    // A paced stream (~10 s), so that every kill lands while events are still flowing; the
    // last fifth is held back until the third kill, so that it always lands mid-stream (a
    // restarted sensor catching up may commit its whole backlog in one transaction).
    const [early, late] = holdBack(slices);
    const sending = bus.sendSlices(early, 5);
    for (const [k, at] of [1000, 2200, 3400].entries()) {
      await waitFor(() => distinct(bus) >= at, {
        timeoutMs: 120_000,
        what: `${at} actions before kill ${k + 1}`,
      });
      const seen = distinct(bus);
      await sensor.stop('SIGKILL');
      console.log(
        `# kill ${k + 1}: after ${seen} of ${expected.size} actions, ${Date.now() - t0} ms`,
      );
      assert.ok(seen < expected.size, 'killed mid-stream');
      sensor = await bus.sensor(`crash-${k + 1}`);
    }
    await sending;
    await bus.sendSlices(late, 5);
    await waitFor(() => distinct(bus) >= expected.size, {
      timeoutMs: 120_000,
      intervalMs: 100,
      what: `${expected.size} distinct actions`,
    });
    console.log(`# ${expected.size} actions after ${Date.now() - t0} ms`);
    await sensor.stop();
    await assertExactlyOnce(bus, expected);
  });

  it('scale-out: two replicas, a third added mid-stream and one removed: every action exactly once', async () => {
    const bus = await new BusFixture({
      brokers: await kafkaBrokers(),
      prefix: uniquePrefix('scale'),
      manifests: manifests(),
      partitions: PARTITIONS,
    }).start();
    cleanup.push(() => bus.stop());
    const { slices, expected } = workload(10_000);
    const r1 = await bus.sensor('r1');
    const r2 = await bus.sensor('r2');
    const added: ServiceProcess[] = [];
    cleanup.push(() => Promise.all([r1.stop(), r2.stop(), ...added.map((p) => p.stop())]));
    const t0 = Date.now();
    const [early, late] = holdBack(slices);
    const sending = bus.sendSlices(early, 5);
    await waitFor(() => distinct(bus) >= 1000, {
      timeoutMs: 120_000,
      what: 'actions before the scale-out',
    });
    const r3 = await bus.sensor('r3');
    added.push(r3);
    console.log(`# replica added after ${distinct(bus)} actions, ${Date.now() - t0} ms`);
    await waitFor(() => distinct(bus) >= 3000, {
      timeoutMs: 120_000,
      what: 'actions before the scale-in',
    });
    // Mid-stream is when the replica is told to go; its graceful stop may outlast the stream.
    const seen = distinct(bus);
    await r1.stop('SIGTERM');
    console.log(
      `# replica removed after ${seen} actions (stopped after ${distinct(bus)}), ${Date.now() - t0} ms`,
    );
    assert.ok(seen < expected.size, 'scaled in mid-stream');
    await sending;
    await bus.sendSlices(late, 5);
    await waitFor(() => distinct(bus) >= expected.size, {
      timeoutMs: 120_000,
      intervalMs: 100,
      what: `${expected.size} distinct actions`,
    });
    console.log(`# ${expected.size} actions after ${Date.now() - t0} ms`);
    // The added replica took part: it was assigned partitions of the bus.
    const assigned = (p: ServiceProcess): boolean =>
      p
        .records()
        .some(
          (r) =>
            r['msg'] === 'partitions assigned' &&
            Array.isArray(r['partitions']) &&
            r['partitions'].length > 0,
        );
    assert.ok(assigned(r3), 'the added replica was given partitions');
    assert.ok(assigned(r2));
    await Promise.all([r2.stop(), r3.stop()]);
    await assertExactlyOnce(bus, expected);
  });
});
