import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import type { EventBus, SecretKeySelector } from '@ganglion/api';
import { createLogger } from '@ganglion/telemetry';
import { KafkaBroker, uniquePrefix, waitFor } from '@ganglion/testing';
import { ExactlyOnceLoop } from '../loops/exactly-once-loop.js';
import { TRANSACTION_RETRY, checkBusAccess, createKafka } from './client.js';
import { BusClients } from './bus-clients.js';
import { StableOffsetReader } from '../transactions/stable-offsets.js';
import {
  BusAccessError,
  installationSecurity,
  SASL_MECHANISMS,
  type InstallationSecuritySettings,
  type SecretLookup,
} from './security.js';

const logger = createLogger('test', { level: 'error' });

/**
 * Every kind of client against a real broker's SASL_SSL listener (PLAIN, SCRAM-SHA-256,
 * SCRAM-SHA-512) and its mutual-TLS listener, certificates and SCRAM users made by the test
 * (libs/testing `KafkaBroker` with `secure`).
 */
describe(
  'TLS and SASL on the bus (real broker with SASL_SSL and mTLS listeners)',
  { timeout: 300_000 },
  () => {
    let broker: KafkaBroker;
    const prefix = uniquePrefix('bus-security');
    const clients: Kafka[] = [];

    before(async () => {
      broker = await KafkaBroker.start({ secure: true });
    });
    after(async () => {
      await broker?.destroy();
    });

    const client = (
      settings: InstallationSecuritySettings,
      brokers = broker.secure.saslSsl,
    ): Kafka => {
      const security = installationSecurity(settings);
      const kafka = createKafka({
        brokers: [brokers],
        clientId: prefix,
        logger,
        connectionTimeoutMs: 5000,
        ...(security ? { security } : {}),
      });
      clients.push(kafka);
      return kafka;
    };
    const login = (
      mechanism: (typeof SASL_MECHANISMS)[number],
      password = broker.secure.user.password,
    ) =>
      ({
        tls: { caFile: broker.secure.files.ca },
        sasl: { mechanism, username: broker.secure.user.username, password },
      }) satisfies InstallationSecuritySettings;

    /** Creates a topic, produces a record transactionally and reads it back read_committed. */
    async function roundTrip(kafka: Kafka, topic: string): Promise<void> {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.createTopics({
          topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
          waitForLeaders: true,
        });
      } finally {
        await admin.disconnect();
      }
      const producer = kafka.producer({
        transactionalId: `${topic}-txn`,
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { ...TRANSACTION_RETRY },
      });
      await producer.connect();
      const txn = await producer.transaction();
      await txn.send({ topic, messages: [{ key: 'k', value: 'over TLS' }] });
      await txn.commit();
      await producer.disconnect();
      const consumer = kafka.consumer({ groupId: `${topic}-group`, readUncommitted: false });
      const seen: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => void seen.push(String(message.value)),
      });
      try {
        await waitFor(() => seen.length === 1, {
          timeoutMs: 60_000,
          what: `the record on ${topic}`,
        });
        assert.deepEqual(seen, ['over TLS']);
      } finally {
        await consumer.disconnect();
      }
    }

    for (const mechanism of SASL_MECHANISMS)
      it(`SASL_SSL with ${mechanism}: admin, transactional producer, consumer and the OffsetFetch wire reader`, async () => {
        const kafka = client(login(mechanism));
        const topic = `${prefix}-${mechanism.toLowerCase()}`;
        await roundTrip(kafka, topic);
        const admin = kafka.admin();
        await admin.connect();
        try {
          const reader = new StableOffsetReader({
            brokers: async () =>
              (await admin.describeCluster()).brokers.map((b) => `${b.host}:${b.port}`),
            security: installationSecurity(login(mechanism))!,
          });
          // The consumer committed one past the record (offset 0; offset 1 is the commit marker).
          await waitFor(
            async () => (await reader.fetch(`${topic}-group`, topic, [0])).get(0) === 1n,
            {
              timeoutMs: 30_000,
              what: 'the committed offset through the wire reader',
            },
          );
          // The same reader with a wrong password is refused by the broker.
          const refused = new StableOffsetReader({
            brokers: async () => [broker.secure.saslSsl],
            security: installationSecurity(login(mechanism, 'wrong'))!,
          });
          await assert.rejects(
            refused.fetch(`${topic}-group`, topic, [0]),
            /SASL authentication failed/,
          );
        } finally {
          await admin.disconnect();
        }
      });

    it('mutual TLS: a client certificate is accepted; without one the broker refuses the connection', async () => {
      const { files } = broker.secure;
      await roundTrip(
        client(
          { tls: { caFile: files.ca, certFile: files.clientCert, keyFile: files.clientKey } },
          broker.secure.mtls,
        ),
        `${prefix}-mtls`,
      );
      await assert.rejects(
        checkBusAccess(client({ tls: { caFile: files.ca } }, broker.secure.mtls), [
          broker.secure.mtls,
        ]),
        (err: unknown) =>
          err instanceof BusAccessError &&
          /refused the TLS handshake .*client certificate/.test(err.message),
      );
    });

    it('a wrong password fails with one clear error, without retrying forever', async () => {
      const started = Date.now();
      await assert.rejects(
        checkBusAccess(client(login('SCRAM-SHA-512', 'not-the-password')), [broker.secure.saslSsl]),
        (err: unknown) =>
          err instanceof BusAccessError &&
          /refused the login/.test(err.message) &&
          err.message.includes(broker.secure.saslSsl),
      );
      assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
    });

    it('a rotated password file is read again on reconnection: the same client logs in after the file changes', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ganglion-kafka-login-'));
      const passwordFile = join(dir, 'password');
      writeFileSync(passwordFile, 'the-old-password\n');
      const kafka = client({
        tls: { caFile: broker.secure.files.ca },
        sasl: { mechanism: 'SCRAM-SHA-256', username: broker.secure.user.username, passwordFile },
      });
      await assert.rejects(checkBusAccess(kafka, [broker.secure.saslSsl]), BusAccessError);
      writeFileSync(passwordFile, `${broker.secure.user.password}\n`);
      await checkBusAccess(kafka, [broker.secure.saslSsl]);
    });

    it('an untrusted broker certificate fails with one clear error; insecureSkipVerify accepts it', async () => {
      const untrusted = {
        tls: { caFile: broker.secure.files.untrustedCa },
        sasl: {
          mechanism: 'PLAIN',
          username: broker.secure.user.username,
          password: broker.secure.user.password,
        },
      } as const;
      await assert.rejects(
        checkBusAccess(client(untrusted), [broker.secure.saslSsl]),
        (err: unknown) =>
          err instanceof BusAccessError && /certificate is not trusted/.test(err.message),
      );
      await checkBusAccess(
        client({ ...untrusted, tls: { ...untrusted.tls, insecureSkipVerify: true } }),
        [broker.secure.saslSsl],
      );
    });

    it('the server name is verified against the certificate (localhost is in it, another name is not)', async () => {
      const named = (serverName: string) => ({
        ...login('PLAIN'),
        tls: { caFile: broker.secure.files.ca, serverName },
      });
      await checkBusAccess(client(named('localhost')), [broker.secure.saslSsl]);
      await assert.rejects(
        checkBusAccess(client(named('kafka.example.invalid')), [broker.secure.saslSsl]),
        (err: unknown) => err instanceof BusAccessError && /not trusted/.test(err.message),
      );
    });

    it("an EventBus's spec.kafka.tls and sasl: Secrets read where the client runs; an exactly-once loop over SASL_SSL", async () => {
      const { secure } = broker;
      const secretValues: Record<string, string> = {
        'team-a/kafka-ca/ca.crt': secure.ca,
        'team-a/kafka-login/user': secure.other.username,
        'team-a/kafka-login/password': secure.other.password,
      };
      const reads: string[] = [];
      const secrets: SecretLookup = {
        async resolve(namespace: string, selector: SecretKeySelector) {
          const id = `${namespace}/${selector.name}/${selector.key}`;
          reads.push(id);
          const v = secretValues[id];
          if (v === undefined) throw new Error(`secret ${id} not found`);
          return v;
        },
      };
      const bus: EventBus = {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'EventBus',
        metadata: { name: 'secure', namespace: 'team-a' },
        spec: {
          kafka: {
            url: secure.saslSsl,
            topic: `${prefix}-bus`,
            tls: { caCertSecret: { name: 'kafka-ca', key: 'ca.crt' } },
            sasl: {
              mechanism: 'SCRAM-SHA-256',
              userSecret: { name: 'kafka-login', key: 'user' },
              passwordSecret: { name: 'kafka-login', key: 'password' },
            },
          },
        },
      };
      const busClients = new BusClients({
        brokers: ['127.0.0.1:9'],
        clientId: prefix,
        logger,
        secrets: () => secrets,
      });
      const cluster = busClients.clusterOf(bus);
      assert.match(cluster, new RegExp(`^${secure.saslSsl}\\|[0-9a-f]{16}$`));
      // The same bus in another namespace (other Secrets) never shares the client.
      assert.notEqual(
        busClients.clusterOf({ ...bus, metadata: { ...bus.metadata, namespace: 'team-b' } }),
        cluster,
      );
      const kafka = busClients.client(cluster);
      const input = `${prefix}-bus-in`;
      const output = `${prefix}-bus-out`;
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [input, output].map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
        waitForLeaders: true,
      });
      await admin.disconnect();
      assert.ok(reads.includes('team-a/kafka-login/password'), reads.join(','));
      const loop = new ExactlyOnceLoop({
        kafka,
        groupId: `${prefix}-bus-group`,
        topics: [input],
        transactionalIdPrefix: `${prefix}-bus`,
        logger,
        maxWaitMs: 10,
        processor: {
          process: ({ messages }) =>
            messages.map((m) => ({
              topic: output,
              key: m.key?.toString() ?? '',
              value: `seen ${m.value?.toString() ?? ''}`,
            })),
        },
      });
      await loop.start();
      try {
        const producer = busClients.producers().forCluster(cluster);
        await producer.send({ topic: input, key: 'k', value: 'hello' });
        const seen: string[] = [];
        const consumer = kafka.consumer({
          groupId: `${prefix}-bus-reader`,
          readUncommitted: false,
        });
        await consumer.connect();
        await consumer.subscribe({ topic: output, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => void seen.push(String(message.value)),
        });
        try {
          await waitFor(() => seen.length === 1, {
            timeoutMs: 90_000,
            what: 'the loop output over SASL_SSL',
          });
          assert.deepEqual(seen, ['seen hello']);
        } finally {
          await consumer.disconnect();
        }
      } finally {
        await loop.stop();
        await busClients.close();
      }
    });
  },
);
