import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parseManifests } from './manifests.js';
import { validateResource } from './validate.js';
import { EVENT_SOURCE_TYPES, TRIGGER_TYPES } from './types.js';
import { sourceModels } from './eventsources/source.registry.js';
import { triggerModels } from './triggers/trigger.registry.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../src/fixtures/${name}`, import.meta.url), 'utf8');

for (const file of ['event-sources.valid.yaml', 'sensors.valid.yaml', 'event-bus.valid.yaml'])
  test(`valid fixtures: ${file} has no issues`, () => {
    for (const doc of parseManifests(fixture(file), { strict: true }))
      assert.deepEqual(doc.issues, [], `document ${doc.index}`);
  });

test('fixtures cover every source and trigger type, and the schema knows every type', () => {
  const text = fixture('event-sources.valid.yaml') + fixture('sensors.valid.yaml');
  for (const t of EVENT_SOURCE_TYPES) assert.match(text, new RegExp(`\\n  ${t}:\\n`), t);
  for (const t of TRIGGER_TYPES) assert.match(text, new RegExp(`\\n {8}${t}:`), t);
  assert.deepEqual(Object.keys(sourceModels).sort(), [...EVENT_SOURCE_TYPES].sort());
  assert.deepEqual(Object.keys(triggerModels).sort(), [...TRIGGER_TYPES].sort());
});

const es = (spec: unknown) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'EventSource',
  metadata: { name: 'es' },
  spec,
});
const sensor = (
  triggers: unknown[],
  deps: unknown[] = [{ name: 'd', eventSourceName: 'es', eventName: 'e' }],
) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Sensor',
  metadata: { name: 's' },
  spec: { dependencies: deps, triggers },
});
const log = (extra: object = {}) => ({ template: { name: 't', log: {}, ...extra } });
const wh = { port: '12000', endpoint: '/x', method: 'POST' };

const broken: [string, unknown, string][] = [
  [
    'webhook without port',
    es({ webhook: { a: { endpoint: '/x', method: 'POST' } } }),
    'spec.webhook.a.port: is required',
  ],
  [
    'webhook port as a number',
    es({ webhook: { a: { ...wh, port: 12000 } } }),
    'spec.webhook.a.port: must be a string, got a number (quote it: "12000")',
  ],
  [
    'webhook endpoint without slash',
    es({ webhook: { a: { ...wh, endpoint: 'x' } } }),
    'spec.webhook.a.endpoint: must start with "/", got "x"',
  ],
  [
    'duplicate event names across types',
    es({
      webhook: { a: wh },
      github: { a: { webhook: wh, events: ['push'], organizations: ['o'] } },
    }),
    'spec.webhook.a: event name "a" is already used by spec.github.a; event names must be unique across all types',
  ],
  [
    'mixed leader-elected and active-active',
    es({ webhook: { a: wh }, calendar: { b: { interval: '10s' } } }),
    'spec: cannot mix leader-elected source types (calendar) with active-active types (webhook); split them into separate EventSources',
  ],
  [
    'only an unknown source type',
    es({ webhok: { a: wh } }),
    'spec: at least one event source type must be configured',
  ],
  [
    'calendar bad cron',
    es({ calendar: { a: { schedule: '61 * * * *' } } }),
    'spec.calendar.a.schedule: minute field "61": 61 is out of range 0-59',
  ],
  [
    'calendar bad timezone',
    es({ calendar: { a: { interval: '1m', timezone: 'Mars/Olympus' } } }),
    'spec.calendar.a.timezone: "Mars/Olympus" is not a known IANA time zone (e.g. "UTC", "Europe/Paris", "America/New_York")',
  ],
  [
    'resource exists with a value',
    es({
      resource: {
        a: {
          version: 'v1',
          resource: 'pods',
          eventTypes: ['ADD'],
          filter: { labels: [{ key: 'k', operation: 'exists', value: 'x' }] },
        },
      },
    }),
    'spec.resource.a.filter.labels[0].value: must be empty with operation "exists"',
  ],
  [
    'resource gt without an integer',
    es({
      resource: {
        a: {
          version: 'v1',
          resource: 'pods',
          eventTypes: ['ADD'],
          filter: { labels: [{ key: 'k', operation: 'gt', value: 'x' }] },
        },
      },
    }),
    'spec.resource.a.filter.labels[0].value: must be an integer with operation "gt", got "x"',
  ],
  [
    'resource field with in',
    es({
      resource: {
        a: {
          version: 'v1',
          resource: 'pods',
          eventTypes: ['ADD'],
          filter: { fields: [{ key: 'k', operation: 'in', value: 'x' }] },
        },
      },
    }),
    'spec.resource.a.filter.fields[0].operation: "in" is not supported for fields (=, ==, !=)',
  ],
  [
    'resource without event types',
    es({ resource: { a: { version: 'v1', resource: 'pods', eventTypes: [] } } }),
    'spec.resource.a.eventTypes: must not be empty',
  ],
  [
    'resource bad createdBy',
    es({
      resource: {
        a: {
          version: 'v1',
          resource: 'pods',
          eventTypes: ['ADD'],
          filter: { createdBy: 'yesterday' },
        },
      },
    }),
    'spec.resource.a.filter.createdBy: "yesterday" is not an RFC 3339 date-time (e.g. "2026-12-25T00:00:00Z")',
  ],
  [
    'calendar without schedule or interval',
    es({ calendar: { a: {} } }),
    'spec.calendar.a: either schedule or interval is required',
  ],
  [
    'kafka source without topic',
    es({ kafka: { a: { url: 'k:9092', partition: '0' } } }),
    'spec.kafka.a.topic: is required',
  ],
  [
    'github without repositories',
    es({ github: { a: { webhook: wh, events: ['push'] } } }),
    'spec.github.a: either repositories or organizations is required',
  ],
  ['no dependencies', sensor([log()], []), 'spec.dependencies: must not be empty'],
  [
    'dependency without eventName',
    sensor([log()], [{ name: 'd', eventSourceName: 'es' }]),
    'spec.dependencies[0].eventName: is required',
  ],
  [
    'http trigger without url',
    sensor([{ template: { name: 't', http: { method: 'POST' } } }]),
    'spec.triggers[0].template.http.url: is required',
  ],
  [
    'http trigger bad method',
    sensor([{ template: { name: 't', http: { url: 'http://x', method: 'HEAD' } } }]),
    'spec.triggers[0].template.http.method: must be one of GET, DELETE, PATCH, POST, PUT, got "HEAD"',
  ],
  [
    'kafka trigger without payload',
    sensor([{ template: { name: 't', kafka: { url: 'k:9092', topic: 't' } } }]),
    'spec.triggers[0].template.kafka.payload: is required',
  ],
  [
    'email trigger port out of range',
    sensor([{ template: { name: 't', email: { host: 'h', port: 70000 } } }]),
    'spec.triggers[0].template.email.port: must be at most 65535, got 70000',
  ],
  [
    'custom trigger secure without certSecret',
    sensor([{ template: { name: 't', custom: { serverURL: 'x:1', spec: {}, secure: true } } }]),
    'spec.triggers[0].template.custom.certSecret: is required when secure is true',
  ],
  [
    'two trigger types',
    sensor([{ template: { name: 't', log: {}, http: { url: 'http://x' } } }]),
    'spec.triggers[0].template: exactly one trigger type must be set, got log, http',
  ],
  [
    // A hole in a sparse array (an object built in code, not parsed) is an absent item, never
    // skipped: the runtime's .map() would carry it on (found by the manifest fuzz).
    'a hole in the triggers list',
    // eslint-disable-next-line no-sparse-arrays
    sensor([log(), , log({ name: 'u' })]),
    'spec.triggers[1]: must not be empty',
  ],
  [
    'duplicate trigger names',
    sensor([log(), log()]),
    'spec.triggers[1].template.name: duplicate trigger name "t" (also spec.triggers[0])',
  ],
  [
    'conditions reference unknown dependency',
    sensor([log({ conditions: 'd && e' })]),
    'spec.triggers[0].template.conditions: "e" is not a dependency of this sensor (have: d)',
  ],
  [
    'conditions syntax error',
    sensor([log({ conditions: 'd &&' })]),
    'spec.triggers[0].template.conditions: "d &&": expected a dependency name or "(" at the end',
  ],
  [
    'conditionsReset bad cron',
    sensor([log({ conditionsReset: [{ byTime: { cron: '* * *' } }] })]),
    'spec.triggers[0].template.conditionsReset[0].byTime.cron: "* * *" has 3 fields; a cron schedule has 5 (minute hour day-of-month month day-of-week)',
  ],
  [
    'parameter without dest',
    sensor([{ ...log(), parameters: [{ src: { dependencyName: 'd' } }] }]),
    'spec.triggers[0].parameters[0].dest: is required',
  ],
  [
    'template without a known trigger type',
    sensor([{ template: { name: 't', htpp: { url: 'http://x' } } }]),
    `spec.triggers[0].template: exactly one trigger type must be set, got none (known: ${TRIGGER_TYPES.join(', ')})`,
  ],
  [
    'dlqTrigger without atLeastOnce',
    sensor([{ ...log(), dlqTrigger: { template: { name: 'dlq', log: {} } } }]),
    'spec.triggers[0].dlqTrigger: requires atLeastOnce: true on both the trigger and its dlqTrigger',
  ],
  [
    'data filter bad comparator',
    sensor(
      [log()],
      [
        {
          name: 'd',
          eventSourceName: 'es',
          eventName: 'e',
          filters: { data: [{ path: 'a', type: 'number', value: ['1'], comparator: '=>' }] },
        },
      ],
    ),
    'spec.dependencies[0].filters.data[0].comparator: must be one of >=, >, =, !=, <, <=, got "=>"',
  ],
  [
    'data filter number value',
    sensor(
      [log()],
      [
        {
          name: 'd',
          eventSourceName: 'es',
          eventName: 'e',
          filters: { data: [{ path: 'a', type: 'number', value: ['ten'] }] },
        },
      ],
    ),
    'spec.dependencies[0].filters.data[0].value[0]: "ten" is not a number',
  ],
  [
    'expr filter without fields',
    sensor(
      [log()],
      [
        {
          name: 'd',
          eventSourceName: 'es',
          eventName: 'e',
          filters: { exprs: [{ expr: 'a > 1' }] },
        },
      ],
    ),
    'spec.dependencies[0].filters.exprs[0].fields: is required',
  ],
  [
    'empty context filter',
    sensor(
      [log()],
      [{ name: 'd', eventSourceName: 'es', eventName: 'e', filters: { context: {} } }],
    ),
    'spec.dependencies[0].filters.context: at least one of type, subject, source or datacontenttype must be set',
  ],
  [
    'time filter bad time',
    sensor(
      [log()],
      [
        {
          name: 'd',
          eventSourceName: 'es',
          eventName: 'e',
          filters: { time: { start: '25:00:00', stop: '01:00:00' } },
        },
      ],
    ),
    'spec.dependencies[0].filters.time.start: "25:00:00" is not a time of day "hh:mm:ss"',
  ],
  [
    'bad filtersLogicalOperator',
    sensor(
      [log()],
      [{ name: 'd', eventSourceName: 'es', eventName: 'e', filtersLogicalOperator: 'xor' }],
    ),
    'spec.dependencies[0].filtersLogicalOperator: must be one of and, or, got "xor"',
  ],
  [
    'eventbus with two kinds',
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'EventBus',
      metadata: { name: 'b' },
      spec: { kafka: {}, jetstream: { version: 'latest' } },
    },
    'spec: exactly one of kafka, nats, jetstream or jetstreamExotic must be set, got jetstream, kafka',
  ],
  [
    'eventbus sasl mechanism the client cannot speak',
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'EventBus',
      metadata: { name: 'b' },
      spec: { kafka: { sasl: { mechanism: 'GSSAPI' } } },
    },
    "spec.kafka.sasl.mechanism: GSSAPI is not supported by Ganglion's Kafka client; use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
  ],
  [
    'eventbus nats rejected',
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'EventBus',
      metadata: { name: 'b' },
      spec: { nats: { native: {} } },
    },
    'spec.nats: Ganglion runs on Kafka only; replace spec.nats with spec.kafka, e.g. "spec: {kafka: {topic: <namespace>-<name>}}" (url defaults to the installation\'s brokers)',
  ],
  [
    'amqp with url and urlSecret',
    es({
      amqp: {
        a: {
          url: 'amqp://x',
          urlSecret: { name: 'a', key: 'b' },
          exchangeType: 'fanout',
          routingKey: 'k',
        },
      },
    }),
    'spec.amqp.a: only one of url and urlSecret may be set',
  ],
  [
    'amqp without routingKey',
    es({ amqp: { a: { url: 'amqp://x', exchangeType: 'fanout' } } }),
    'spec.amqp.a.routingKey: is required',
  ],
  [
    'azureEventsHub key without name',
    es({
      azureEventsHub: { a: { fqdn: 'f', hubName: 'h', sharedAccessKey: { name: 'a', key: 'b' } } },
    }),
    'spec.azureEventsHub.a: sharedAccessKeyName and sharedAccessKey must be set together',
  ],
  [
    'azureQueueStorage without account',
    es({ azureQueueStorage: { a: { queueName: 'q' } } }),
    'spec.azureQueueStorage.a: either storageAccountName or connectionString is required',
  ],
  [
    'azureServiceBus queue and topic',
    es({
      azureServiceBus: {
        a: {
          connectionString: { name: 'a', key: 'b' },
          queueName: 'q',
          topicName: 't',
          subscriptionName: 's',
        },
      },
    }),
    'spec.azureServiceBus.a: queueName and topicName/subscriptionName cannot be set together',
  ],
  [
    'azureServiceBus topic without subscription',
    es({ azureServiceBus: { a: { connectionString: { name: 'a', key: 'b' }, topicName: 't' } } }),
    'spec.azureServiceBus.a.subscriptionName: is required with topicName',
  ],
  [
    'azureServiceBus without credentials',
    es({ azureServiceBus: { a: { queueName: 'q' } } }),
    'spec.azureServiceBus.a: either connectionString or fullyQualifiedNamespace is required',
  ],
  [
    'azureServiceBus deferDelete not a boolean',
    es({
      azureServiceBus: {
        a: { connectionString: { name: 'a', key: 'b' }, queueName: 'q', deferDelete: 'yes' },
      },
    }),
    'spec.azureServiceBus.a.deferDelete: must be true or false, got a string',
  ],
  [
    'azureEventsHub without hubName',
    es({ azureEventsHub: { a: { fqdn: 'ns.servicebus.windows.net' } } }),
    'spec.azureEventsHub.a.hubName: is required',
  ],
  [
    'bitbucket without repositories',
    es({ bitbucket: { a: { webhook: wh } } }),
    'spec.bitbucket.a.repositories: at least one repository is required',
  ],
  [
    'bitbucketserver without base URL',
    es({ bitbucketserver: { a: { webhook: wh, projects: ['P'] } } }),
    'spec.bitbucketserver.a.bitbucketserverBaseURL: is required',
  ],
  [
    'calendar exclusion date',
    es({ calendar: { a: { interval: '1h', exclusionDates: ['tomorrow'] } } }),
    'spec.calendar.a.exclusionDates[0]: "tomorrow" is not an RFC 3339 date-time (e.g. "2026-12-25T00:00:00Z")',
  ],
  [
    'calendar bad interval',
    es({ calendar: { a: { interval: '10' } } }),
    'spec.calendar.a.interval: "10" is not a duration (e.g. "30s", "5m", "1h30m")',
  ],
  [
    'emitter without channelKey',
    es({ emitter: { a: { broker: 'b', channelName: 'c' } } }),
    'spec.emitter.a.channelKey: is required',
  ],
  [
    'file bad event type',
    es({ file: { a: { eventType: 'MODIFY', watchPathConfig: { directory: '/d', path: 'p' } } } }),
    'spec.file.a.eventType: must be one of CREATE, WRITE, REMOVE, RENAME, CHMOD, got "MODIFY"',
  ],
  [
    'file without path',
    es({ file: { a: { eventType: 'CREATE', watchPathConfig: { directory: '/d' } } } }),
    'spec.file.a.watchPathConfig: either path or pathRegexp is required',
  ],
  [
    'generic without config',
    es({ generic: { a: { url: 'x:1' } } }),
    'spec.generic.a.config: is required',
  ],
  [
    'gerrit without projects',
    es({ gerrit: { a: { webhook: wh, events: ['e'], gerritBaseURL: 'u', auth: {} } } }),
    'spec.gerrit.a.projects: is required',
  ],
  [
    'github repositories and organizations',
    es({
      github: {
        a: { webhook: wh, repositories: [{ owner: 'o', names: ['n'] }], organizations: ['o'] },
      },
    }),
    'spec.github.a: only one of repositories and organizations may be set',
  ],
  [
    'github hook without events',
    es({
      github: {
        a: {
          webhook: { ...wh, url: 'https://x' },
          apiToken: { name: 'a', key: 'b' },
          organizations: ['o'],
        },
      },
    }),
    'spec.github.a.events: is required to create the GitHub hook (apiToken or githubApp and webhook.url are set)',
  ],
  [
    'gitlab without accessToken',
    es({
      gitlab: {
        a: {
          webhook: wh,
          events: ['PushEvents'],
          gitlabBaseURL: 'https://gitlab.com',
          projects: ['1'],
        },
      },
    }),
    'spec.gitlab.a.accessToken: is required',
  ],
  [
    'hdfs keytab without realm',
    es({
      hdfs: {
        a: {
          directory: '/d',
          path: 'p',
          type: 'CREATE',
          addresses: ['a:1'],
          krbKeytabSecret: { name: 'a', key: 'b' },
        },
      },
    }),
    'spec.hdfs.a: krbServicePrincipalName, krbConfigConfigMap, krbUsername and krbRealm are required with krbKeytabSecret',
  ],
  [
    'kafka awsMskIamAuth with sasl',
    es({
      kafka: {
        a: {
          url: 'k:9098',
          topic: 't',
          partition: '0',
          awsMskIamAuth: { region: 'eu-west-1' },
          sasl: { mechanism: 'PLAIN' },
        },
      },
    }),
    'spec.kafka.a.awsMskIamAuth: and sasl are exclusive (MSK IAM is its own SASL mechanism)',
  ],
  [
    'nats queue with jetStream',
    es({
      nats: { a: { url: 'nats://n:4222', subject: 's', queue: 'q', jetStream: { stream: 'S' } } },
    }),
    'spec.nats.a.queue: is core NATS only: with jetStream the replicas share the durable consumer (jetStream.durable)',
  ],
  [
    'nats jetStream durable with a dot',
    es({
      nats: {
        a: { url: 'nats://n:4222', subject: 's', jetStream: { stream: 'S', durable: 'a.b' } },
      },
    }),
    'spec.nats.a.jetStream.durable: "a.b" is not a JetStream consumer name (no ".", "*", ">", "/", "\\" or whitespace)',
  ],
  [
    'kafka without partition or group',
    es({ kafka: { a: { url: 'k:9092', topic: 't' } } }),
    'spec.kafka.a: either partition or consumerGroup is required',
  ],
  [
    'kafka bad rebalance strategy',
    es({
      kafka: {
        a: {
          url: 'k:9092',
          topic: 't',
          consumerGroup: { groupName: 'g', rebalanceStrategy: 'fair' },
        },
      },
    }),
    'spec.kafka.a.consumerGroup.rebalanceStrategy: must be one of range, roundrobin, sticky, got "fair"',
  ],
  [
    'minio without secretKey',
    es({
      minio: {
        a: { endpoint: 'm:9000', bucket: { name: 'b' }, accessKey: { name: 'a', key: 'b' } },
      },
    }),
    'spec.minio.a.secretKey: is required',
  ],
  ['mns without endpoint', es({ mns: { a: { queue: 'q' } } }), 'spec.mns.a.endpoint: is required'],
  [
    'mqtt without clientId',
    es({ mqtt: { a: { url: 'tcp://m:1883', topic: 't' } } }),
    'spec.mqtt.a.clientId: is required',
  ],
  [
    'nats without subject',
    es({ nats: { a: { url: 'nats://n:4222' } } }),
    'spec.nats.a.subject: is required',
  ],
  [
    'nsq without channel',
    es({ nsq: { a: { hostAddress: 'n:4161', topic: 't' } } }),
    'spec.nsq.a.channel: is required',
  ],
  [
    'pubSub without topic or subscription',
    es({ pubSub: { a: { projectID: 'p' } } }),
    'spec.pubSub.a: either topic or subscriptionID is required',
  ],
  [
    'pulsar bad type',
    es({ pulsar: { a: { url: 'pulsar://p:6650', topics: ['t'], type: 'failover' } } }),
    'spec.pulsar.a.type: must be one of exclusive, shared, got "failover"',
  ],
  [
    'redis password without namespace',
    es({
      redis: { a: { hostAddress: 'r:6379', channels: ['c'], password: { name: 'a', key: 'b' } } },
    }),
    'spec.redis.a.namespace: is required with password (the namespace of the password Secret)',
  ],
  [
    'redisStream without streams',
    es({ redisStream: { a: { hostAddress: 'r:6379', streams: [] } } }),
    'spec.redisStream.a.streams: must not be empty',
  ],
  [
    'resource bad event type',
    es({ resource: { a: { version: 'v1', resource: 'pods', eventTypes: ['CHANGE'] } } }),
    'spec.resource.a.eventTypes[0]: must be one of ADD, UPDATE, DELETE, got "CHANGE"',
  ],
  [
    'sftp bad poll interval',
    es({
      sftp: {
        a: {
          eventType: 'CREATE',
          watchPathConfig: { directory: '/d', path: 'p' },
          pollIntervalDuration: 'often',
        },
      },
    }),
    'spec.sftp.a.pollIntervalDuration: "often" is not a duration (e.g. "30s", "5m", "1h30m")',
  ],
  [
    'slack without signingSecret',
    es({ slack: { a: { webhook: wh, token: { name: 'a', key: 'b' } } } }),
    'spec.slack.a.signingSecret: is required',
  ],
  [
    'sns without region',
    es({ sns: { a: { webhook: wh, topicArn: 'arn' } } }),
    'spec.sns.a.region: is required',
  ],
  [
    'sqs without waitTimeSeconds',
    es({ sqs: { a: { region: 'r', queue: 'q' } } }),
    'spec.sqs.a.waitTimeSeconds: is required',
  ],
  [
    'storageGrid without apiURL',
    es({
      storageGrid: {
        a: {
          webhook: wh,
          events: ['e'],
          topicArn: 't',
          bucket: 'b',
          authToken: { name: 'a', key: 'b' },
        },
      },
    }),
    'spec.storageGrid.a.apiURL: is required',
  ],
  [
    'stripe createWebhook without apiKey',
    es({ stripe: { a: { webhook: wh, createWebhook: true } } }),
    'spec.stripe.a.apiKey: is required when createWebhook is true',
  ],
  [
    'webhook TLS cert without key',
    es({ webhook: { a: { ...wh, serverCertSecret: { name: 'a', key: 'b' } } } }),
    'spec.webhook.a: serverCertSecret and serverKeySecret must be set together',
  ],
  [
    'k8s trigger without source',
    sensor([{ template: { name: 't', k8s: { operation: 'create' } } }]),
    'spec.triggers[0].template.k8s.source: is required',
  ],
  [
    'k8s trigger empty source',
    sensor([{ template: { name: 't', k8s: { source: {} } } }]),
    'spec.triggers[0].template.k8s.source: one of s3, inline, file, url, configmap, git, resource is required',
  ],
  [
    'argoWorkflow bad operation',
    sensor([
      { template: { name: 't', argoWorkflow: { operation: 'launch', source: { inline: 'x' } } } },
    ]),
    'spec.triggers[0].template.argoWorkflow.operation: must be one of submit, submit-from, resubmit, resume, retry, suspend, terminate, stop, got "launch"',
  ],
  [
    'awsLambda without region',
    sensor([
      {
        template: {
          name: 't',
          awsLambda: { functionName: 'f', payload: [{ src: { dependencyName: 'd' }, dest: 'a' }] },
        },
      },
    ]),
    'spec.triggers[0].template.awsLambda.region: is required',
  ],
  [
    'nats trigger without subject',
    sensor([{ template: { name: 't', nats: { url: 'nats://n', payload: [] } } }]),
    'spec.triggers[0].template.nats.subject: is required',
  ],
  [
    'pulsar trigger without topic',
    sensor([{ template: { name: 't', pulsar: { url: 'pulsar://p' } } }]),
    'spec.triggers[0].template.pulsar.topic: is required',
  ],
  [
    'slack trigger without token',
    sensor([{ template: { name: 't', slack: { channel: 'c' } } }]),
    'spec.triggers[0].template.slack.slackToken: is required',
  ],
  [
    'openWhisk without actionName',
    sensor([{ template: { name: 't', openWhisk: { host: 'h', payload: [] } } }]),
    'spec.triggers[0].template.openWhisk.actionName: is required',
  ],
  [
    'azureEventHubs without hubName',
    sensor([
      {
        template: {
          name: 't',
          azureEventHubs: {
            fqdn: 'f',
            sharedAccessKeyName: { name: 'a', key: 'b' },
            sharedAccessKey: { name: 'a', key: 'b' },
          },
        },
      },
    ]),
    'spec.triggers[0].template.azureEventHubs.hubName: is required',
  ],
  [
    'azureServiceBus trigger without queue or topic',
    sensor([
      { template: { name: 't', azureServiceBus: { connectionString: { name: 'a', key: 'b' } } } },
    ]),
    'spec.triggers[0].template.azureServiceBus: either queueName or topicName is required',
  ],
  [
    'log negative interval',
    sensor([{ template: { name: 't', log: { intervalSeconds: -1 } } }]),
    'spec.triggers[0].template.log.intervalSeconds: must be at least 0, got -1',
  ],
  [
    'custom without spec',
    sensor([{ template: { name: 't', custom: { serverURL: 'x:1' } } }]),
    'spec.triggers[0].template.custom.spec: is required',
  ],
  [
    'empty dest outside an HTTP payload',
    sensor([
      {
        template: {
          name: 't',
          kafka: {
            url: 'k:9092',
            topic: 't',
            payload: [{ src: { dependencyName: 'd' }, dest: '' }],
          },
        },
      },
    ]),
    "spec.triggers[0].template.kafka.payload[0].dest: must not be empty (only an HTTP trigger's payload may use an empty dest for the whole body)",
  ],
  [
    'bad parameter operation',
    sensor([
      { ...log(), parameters: [{ src: { dependencyName: 'd' }, dest: 'a', operation: 'replace' }] },
    ]),
    'spec.triggers[0].parameters[0].operation: must be one of overwrite, append, prepend, got "replace"',
  ],
  [
    'retry duration',
    sensor([{ ...log(), retryStrategy: { duration: 'soon' } }]),
    'spec.triggers[0].retryStrategy.duration: "soon" is not a duration (integer nanoseconds or e.g. "1s", "500ms")',
  ],
  [
    'rate limit unit',
    sensor([{ ...log(), rateLimit: { unit: 'Day', requestsPerUnit: 1 } }]),
    'spec.triggers[0].rateLimit.unit: must be one of Second, Minute, Hour, got "Day"',
  ],
  [
    'k8s policy without labels',
    sensor([{ ...log(), policy: { k8s: { backoff: { steps: 1 } } } }]),
    'spec.triggers[0].policy.k8s.labels: is required',
  ],
  [
    'dlqTrigger validated like a trigger',
    sensor([
      {
        ...log(),
        atLeastOnce: true,
        dlqTrigger: { atLeastOnce: true, template: { name: 'dlq', http: {} } },
      },
    ]),
    'spec.triggers[0].dlqTrigger.template.http.url: is required',
  ],
  [
    'time filter empty window',
    sensor(
      [log()],
      [
        {
          name: 'd',
          eventSourceName: 'es',
          eventName: 'e',
          filters: { time: { start: '10:00:00', stop: '10:00:00' } },
        },
      ],
    ),
    'spec.dependencies[0].filters.time: stop "10:00:00" equals start, so the window is empty',
  ],
  [
    'data filter empty value',
    sensor(
      [log()],
      [
        {
          name: 'd',
          eventSourceName: 'es',
          eventName: 'e',
          filters: { data: [{ path: 'a', type: 'string', value: [''] }] },
        },
      ],
    ),
    'spec.dependencies[0].filters.data[0].value[0]: must not be empty',
  ],
  [
    'data filter bad regex',
    sensor(
      [log()],
      [
        {
          name: 'd',
          eventSourceName: 'es',
          eventName: 'e',
          filters: { data: [{ path: 'a', type: 'string', value: ['(unclosed'] }] },
        },
      ],
    ),
    'spec.dependencies[0].filters.data[0].value[0]: invalid regular expression "(unclosed": error parsing regexp: missing closing ): `(unclosed`',
  ],
  [
    'data filter regex RE2 lacks (lookbehind)',
    sensor(
      [log()],
      [
        {
          name: 'd',
          eventSourceName: 'es',
          eventName: 'e',
          filters: { data: [{ path: 'a', type: 'string', value: ['(?<=a)b'] }] },
        },
      ],
    ),
    'spec.dependencies[0].filters.data[0].value[0]: invalid regular expression "(?<=a)b": error parsing regexp: invalid named capture: `(?<=a)b`',
  ],
  [
    'duplicate dependency names',
    sensor(
      [log()],
      [
        { name: 'd', eventSourceName: 'es', eventName: 'e' },
        { name: 'd', eventSourceName: 'es', eventName: 'f' },
      ],
    ),
    'spec.dependencies[1].name: duplicate dependency name "d"',
  ],
  [
    'eventbus kafka bad url',
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'EventBus',
      metadata: { name: 'b' },
      spec: { kafka: { url: 'kafka' } },
    },
    'spec.kafka.url: "kafka" is not host:port',
  ],
  [
    'eventbus no kind',
    { apiVersion: 'argoproj.io/v1alpha1', kind: 'EventBus', metadata: { name: 'b' }, spec: {} },
    'spec: exactly one of kafka, nats, jetstream or jetstreamExotic must be set, got none',
  ],
  [
    'bad apiVersion',
    {
      apiVersion: 'argoproj.io/v1',
      kind: 'EventBus',
      metadata: { name: 'b' },
      spec: { kafka: {} },
    },
    'apiVersion: must be argoproj.io/v1alpha1, got "argoproj.io/v1"',
  ],
  [
    'bad name',
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'EventBus',
      metadata: { name: 'My_Bus' },
      spec: { kafka: {} },
    },
    "metadata.name: \"My_Bus\" is not a valid name (lower-case letters, digits, '-' and '.')",
  ],
];

for (const [name, doc, expected] of broken)
  test(`broken: ${name}`, () => {
    const messages = validateResource(doc)
      .filter((i) => i.severity === 'error')
      .map((i) => `${i.path}: ${i.message}`);
    assert.ok(
      messages.includes(expected),
      `expected\n  ${expected}\ngot\n  ${messages.join('\n  ')}`,
    );
  });

/** Manifests Argo accepts (its CRDs keep unknown fields, its controller ignores them): no error, these warnings. */
const acceptedAsArgo: [string, unknown, string[]][] = [
  [
    'unknown key under an EventSource spec (legacy spec.type) is a warning',
    es({ type: 'webhook', webhook: { a: wh } }),
    ['spec.type: unknown field "type"; it is ignored, as in Argo'],
  ],
  [
    'misspelt source type beside a known one is a warning with a suggestion',
    es({ webhook: { a: wh }, webhok: { b: wh } }),
    ['spec.webhok: unknown field "webhok" (did you mean "webhook"?); it is ignored, as in Argo'],
  ],
  [
    'unknown key under a trigger template is a warning',
    sensor([log({ retries: 3 })]),
    ['spec.triggers[0].template.retries: unknown field "retries"; it is ignored, as in Argo'],
  ],
  [
    'atLeastOnce and policy inside template are warnings saying where they belong',
    sensor([log({ atLeastOnce: true, policy: { status: { allow: [200] } } })]),
    [
      'spec.triggers[0].template.atLeastOnce: "atLeastOnce" belongs on the trigger (spec.triggers[0].atLeastOnce), not inside template; it is ignored here, as in Argo',
      'spec.triggers[0].template.policy: "policy" belongs on the trigger (spec.triggers[0].policy), not inside template; it is ignored here, as in Argo',
    ],
  ],
  [
    'a parameter whose src.dependencyName names no dependency is a warning',
    sensor([{ ...log(), parameters: [{ src: { dependencyName: 'x' }, dest: 'a' }] }]),
    [
      'spec.triggers[0].parameters[0].src.dependencyName: "x" is not a dependency of this sensor (have: d); at run time the parameter takes src.value, or is skipped',
    ],
  ],
  [
    'a case-insensitive RE2 data filter (?i)^push$ is valid',
    sensor(
      [log()],
      [
        {
          name: 'd',
          eventSourceName: 'es',
          eventName: 'e',
          filters: {
            data: [{ path: 'a', type: 'string', value: ['(?i)^push$', '\\pL+', '[[:alpha:]]'] }],
          },
        },
      ],
    ),
    [],
  ],
];

for (const [name, doc, warnings] of acceptedAsArgo)
  test(`accepted as in Argo: ${name}`, () => {
    const issues = validateResource(doc);
    assert.deepEqual(
      issues.filter((i) => i.severity === 'error'),
      [],
    );
    assert.deepEqual(
      issues.map((i) => `${i.path}: ${i.message}`),
      warnings,
    );
  });

test('deprecated field: warning naming the replacement', () => {
  const doc = es({ github: { a: { webhook: wh, owner: 'o', repository: 'r' } } });
  assert.deepEqual(validateResource(doc), [
    {
      path: 'spec.github.a.owner',
      message: 'is deprecated: use repositories[].owner',
      severity: 'warning',
    },
    {
      path: 'spec.github.a.repository',
      message: 'is deprecated: use repositories[].names',
      severity: 'warning',
    },
  ]);
});

test('unknown field: warning by default, error under strict, with a suggestion', () => {
  const doc = es({ webhook: { a: { ...wh, fitler: {} } } });
  assert.deepEqual(validateResource(doc), [
    {
      path: 'spec.webhook.a.fitler',
      message: 'unknown field "fitler" (did you mean "filter"?); it is ignored',
      severity: 'warning',
    },
  ]);
  assert.equal(validateResource(doc, { strict: true })[0]?.severity, 'error');
});

test('property: random and malformed documents produce issues, never a crash', () => {
  const kinds = fc.constantFrom('EventSource', 'Sensor', 'EventBus', 'Other');
  fc.assert(
    fc.property(fc.anything(), kinds, fc.anything(), (spec, kind, meta) => {
      const issues = validateResource({
        apiVersion: 'argoproj.io/v1alpha1',
        kind,
        metadata: meta,
        spec,
      });
      assert.ok(issues.length > 0);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string(), (text) => void parseManifests(text)),
    { numRuns: 500 },
  );
});
