import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCloudEvent, eventData } from '@ganglion/eventbus';
import {
  HdfsMiniCluster,
  kafkaBrokers,
  OwnedReplicas,
  uniquePrefix,
  waitFor,
  type ServiceProcess,
} from '@ganglion/testing';
import { ingressTopics, type BusCollector } from './harness.js';

interface Seen {
  id: string;
  name: string;
  op: string;
}

/**
 * Two replicas of ingress-hdfs as separate processes on a real broker and a real HDFS
 * mini-cluster: one polls at a time; when the owner is killed the survivor takes over, lists the
 * directory again, reports the file created meanwhile, and re-reports the files already reported
 * under their earlier ids.
 */
describe('ingress-hdfs: two replicas, one owner, handover on SIGKILL', { timeout: 400_000 }, () => {
  let hdfs: HdfsMiniCluster;
  const prefix = uniquePrefix('hdfs');
  const seen: Seen[] = [];
  let replicas: OwnedReplicas;
  let consumer: BusCollector;

  before(async () => {
    const [cluster, brokers] = await Promise.all([HdfsMiniCluster.start(), kafkaBrokers()]);
    hdfs = cluster;
    await hdfs.mkdirs('/drop');
    consumer = await ingressTopics({
      brokers,
      prefix,
      resourcesTopic: `${prefix}-resources`,
      busTopic: `${prefix}-bus`,
      busPartitions: 1,
      eventSource: {
        name: 'lake',
        spec: {
          hdfs: {
            csv: {
              directory: '/drop',
              pathRegexp: '\\.csv$',
              type: 'CREATE',
              checkInterval: '500ms',
              addresses: [hdfs.address],
              hdfsUser: 'ganglion',
            },
          },
        },
      },
      onEvent: (message) => {
        const event = decodeCloudEvent(message);
        const data = eventData(event) as { name: string; op: string };
        assert.equal(event.type, 'hdfs');
        seen.push({ id: event.id, name: data.name, op: data.op });
      },
    });
    replicas = await new OwnedReplicas('ingress-hdfs', prefix, {
      KAFKA_BROKERS: brokers,
      GANGLION_RESOURCES_TOPIC: `${prefix}-resources`,
    }).start();
  });

  after(async () => {
    await replicas?.stop();
    await consumer?.disconnect();
    await hdfs?.stop();
  });

  const owner = (): ServiceProcess | undefined => replicas.owner();
  /** Written under a temporary name then renamed, so no listing sees the file half-written. */
  const drop = async (name: string): Promise<void> => {
    await hdfs.write(`/drop/${name}.tmp`, 'x');
    await hdfs.rename(`/drop/${name}.tmp`, `/drop/${name}`);
  };
  const of = (name: string): Seen[] => seen.filter((s) => s.name === name);

  it('one replica owns the type; each new file is published once', async () => {
    await drop('one.csv');
    await waitFor(() => of('/drop/one.csv').length === 1 && owner() !== undefined, {
      timeoutMs: 120_000,
      what: 'CREATE of one.csv from the owner',
    });
    await drop('sentinel-1.csv');
    await waitFor(() => of('/drop/sentinel-1.csv').length === 1, {
      timeoutMs: 30_000,
      what: 'CREATE of sentinel-1.csv',
    });
    assert.equal(of('/drop/one.csv').length, 1, 'one owner: reported once');
  });

  it('hands over when the owner is killed: the file created meanwhile arrives, re-listed files keep their ids', async () => {
    const first = owner()!;
    await first.stop('SIGKILL');
    await drop('two.csv');
    const survivor = replicas.other(first);
    await waitFor(() => owner() === survivor, {
      timeoutMs: 60_000,
      what: 'the survivor to own the type',
    });
    await waitFor(() => of('/drop/two.csv').length === 1, {
      timeoutMs: 60_000,
      what: 'CREATE of the file written during the handover',
    });
    // The survivor's first listing reports every file again (Argo's semantics), under the same ids.
    await waitFor(() => of('/drop/one.csv').length === 2, {
      timeoutMs: 30_000,
      what: 'the survivor re-listing one.csv',
    });
    for (const name of ['/drop/one.csv', '/drop/sentinel-1.csv'])
      assert.equal(new Set(of(name).map((s) => s.id)).size, 1, `${name} under one id`);
    assert.ok(seen.every((s) => s.op === 'CREATE'));
  });
});
