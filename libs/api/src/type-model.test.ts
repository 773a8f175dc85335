import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceModels } from './eventsources/source.registry.js';
import { triggerModels } from './triggers/trigger.registry.js';
import { rulesOf, type TypeModel } from './type-model.js';
import { validateResource } from './validate.js';
import { EventSourceSpec } from './schema/event-source.schema.js';
import { TriggerTemplate } from './schema/sensor.schema.js';
import { EVENT_SOURCE_TYPES, TRIGGER_TYPES } from './types.js';
import type { Node } from './schema/dsl.schema.js';

/** `storageGrid` → `storage-grid`: the model file of a type is named after its Argo spec key. */
const kebab = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** Names of the schema objects a model's schema contains (its own and the shared ones it uses). */
function objectNames(node: Node, into = new Set<string>()): Set<string> {
  if (node.kind === 'object') {
    if (node.name) into.add(node.name);
    for (const child of Object.values(node.properties)) objectNames(child, into);
  } else if (node.kind === 'array') objectNames(node.items, into);
  else if (node.kind === 'map') objectNames(node.values, into);
  else if (node.kind === 'ref') into.add(node.name);
  return into;
}

/** Argo's `EventSourceSpec` fields, one per source type (`pkg/apis/events/v1alpha1/eventsource_types.go`), in the order of the generated files. */
const ARGO_SOURCE_TYPES = [
  'amqp',
  'azureEventsHub',
  'azureQueueStorage',
  'azureServiceBus',
  'bitbucket',
  'bitbucketserver',
  'calendar',
  'emitter',
  'file',
  'generic',
  'gerrit',
  'github',
  'gitlab',
  'hdfs',
  'kafka',
  'minio',
  'mns',
  'mqtt',
  'nats',
  'nsq',
  'pubSub',
  'pulsar',
  'redis',
  'redisStream',
  'resource',
  'sftp',
  'slack',
  'sns',
  'sqs',
  'storageGrid',
  'stripe',
  'webhook',
];
/** Argo's `TriggerTemplate` fields, one per trigger type (`sensor_types.go`), in the order of the generated files. */
const ARGO_TRIGGER_TYPES = [
  'k8s',
  'argoWorkflow',
  'http',
  'awsLambda',
  'kafka',
  'nats',
  'pulsar',
  'slack',
  'email',
  'openWhisk',
  'azureEventHubs',
  'azureServiceBus',
  'log',
  'custom',
];

const registries: [string, string, Readonly<Record<string, TypeModel>>, readonly string[]][] = [
  ['source', 'eventsources', sourceModels, ARGO_SOURCE_TYPES],
  ['trigger', 'triggers', triggerModels, ARGO_TRIGGER_TYPES],
];

for (const [role, folder, models, types] of registries) {
  test(`${role} registry: one model per Argo type, in Argo's order (the generated files follow it)`, () => {
    assert.deepEqual(Object.keys(models), [...types]);
  });

  for (const type of types)
    test(`${role} model ${type}: in ${folder}/${kebab(type)}.model.ts, a named schema, rules only for objects of its schema`, async () => {
      const model = models[type]!;
      const file = (await import(`./${folder}/${kebab(type)}.model.js`)) as Record<string, unknown>;
      assert.ok(
        Object.values(file).includes(model),
        `${folder}/${kebab(type)}.model.ts does not export the registered model`,
      );
      assert.ok(
        model.schema.name,
        'the schema object is named (it becomes an interface of the generated types)',
      );
      const names = objectNames(model.schema);
      for (const name of Object.keys(model.rules ?? {}))
        assert.ok(names.has(name), `rule for ${name}, which is not in the ${type} schema`);
    });
}

test("registries: the type lists, the EventSource spec and the trigger template are the registries' keys and models", () => {
  assert.deepEqual(EVENT_SOURCE_TYPES, Object.keys(sourceModels));
  assert.deepEqual(TRIGGER_TYPES, Object.keys(triggerModels));
  for (const [type, model] of Object.entries(sourceModels)) {
    const entry = EventSourceSpec.properties[type];
    assert.equal(entry?.kind === 'map' ? entry.values : undefined, model.schema, type);
  }
  for (const [type, model] of Object.entries(triggerModels))
    assert.equal(TriggerTemplate.properties[type], model.schema, type);
});

const sec = { name: 'a', key: 'b' };
const wh = { port: '12000', endpoint: '/x', method: 'POST' };
const es = (type: string, cfg: object) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'EventSource',
  metadata: { name: 'es' },
  spec: { [type]: { a: cfg } },
});
const sensor = (type: string, cfg: object) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Sensor',
  metadata: { name: 's' },
  spec: {
    dependencies: [{ name: 'd', eventSourceName: 'es', eventName: 'e' }],
    triggers: [{ template: { name: 't', [type]: cfg } }],
  },
});

/** For every type whose model has rules, one manifest its rules (and only they) reject. */
const sourceRuleCases: Record<string, [string, object, string]> = {
  amqp: [
    'url and urlSecret both set',
    { url: 'amqp://r', urlSecret: sec, exchangeType: 'fanout', routingKey: 'k' },
    'spec.amqp.a: only one of url and urlSecret may be set',
  ],
  azureEventsHub: [
    'key without key name',
    { fqdn: 'f', hubName: 'h', sharedAccessKey: sec },
    'spec.azureEventsHub.a: sharedAccessKeyName and sharedAccessKey must be set together',
  ],
  azureServiceBus: [
    'topic without subscription',
    { connectionString: sec, topicName: 't' },
    'spec.azureServiceBus.a.subscriptionName: is required with topicName',
  ],
  bitbucket: [
    'no repository',
    { webhook: wh },
    'spec.bitbucket.a.repositories: at least one repository is required',
  ],
  bitbucketserver: [
    'no project or repository',
    { webhook: wh, bitbucketserverBaseURL: 'https://b/rest' },
    'spec.bitbucketserver.a: either projects or repositories is required',
  ],
  calendar: [
    'schedule and interval both set',
    { schedule: '* * * * *', interval: '1m' },
    'spec.calendar.a: only one of schedule and interval may be set',
  ],
  github: [
    'apiToken and githubApp both set',
    {
      webhook: wh,
      organizations: ['o'],
      apiToken: sec,
      githubApp: { privateKey: sec, appID: 1, installationID: 2 },
    },
    'spec.github.a: only one of apiToken and githubApp may be set',
  ],
  gitlab: [
    'no project or group',
    { webhook: wh, events: ['PushEvents'], gitlabBaseURL: 'https://g', accessToken: sec },
    'spec.gitlab.a: either projects or groups is required',
  ],
  hdfs: [
    'no user or kerberos credentials',
    { directory: '/d', path: 'p', type: 'CREATE', addresses: ['n:8020'] },
    'spec.hdfs.a: one of hdfsUser, krbCCacheSecret or krbKeytabSecret is required',
  ],
  kafka: [
    'broker without port',
    { url: 'k', topic: 't', partition: '0' },
    'spec.kafka.a.url: "k" is not host:port',
  ],
  minio: [
    'no access key',
    { endpoint: 'm:9000', bucket: { name: 'b' }, secretKey: sec },
    'spec.minio.a.accessKey: is required',
  ],
  mns: [
    'endpoint that is not a URL',
    { queue: 'q', endpoint: 'mns.cn-hangzhou.aliyuncs.com', accessKey: sec, secretKey: sec },
    'spec.mns.a.endpoint: must be an http:// or https:// URL such as https://<account id>.mns.<region>.aliyuncs.com, got "mns.cn-hangzhou.aliyuncs.com"',
  ],
  nats: [
    'queue with jetStream',
    { url: 'nats://n:4222', subject: 's', queue: 'q', jetStream: { stream: 'ORDERS' } },
    'spec.nats.a.queue: is core NATS only: with jetStream the replicas share the durable consumer (jetStream.durable)',
  ],
  pubSub: [
    'topic project without topic',
    { topicProjectID: 'p', subscriptionID: 's' },
    'spec.pubSub.a.topic: is required with topicProjectID',
  ],
  redis: [
    'password without namespace',
    { hostAddress: 'r:6379', channels: ['c'], password: sec },
    'spec.redis.a.namespace: is required with password (the namespace of the password Secret)',
  ],
  resource: [
    'label "in" without values',
    {
      version: 'v1',
      resource: 'pods',
      eventTypes: ['ADD'],
      filter: { labels: [{ key: 'k', operation: 'in' }] },
    },
    'spec.resource.a.filter.labels[0].value: is required with operation "in" (comma-separated values)',
  ],
  stripe: [
    'createWebhook without apiKey',
    { webhook: wh, createWebhook: true },
    'spec.stripe.a.apiKey: is required when createWebhook is true',
  ],
  webhook: [
    'unknown method',
    { ...wh, method: 'FETCH' },
    'spec.webhook.a.method: must be one of GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, got "FETCH"',
  ],
};
const triggerRuleCases: Record<string, [string, object, string]> = {
  azureServiceBus: [
    'topic without subscription',
    { connectionString: sec, topicName: 't' },
    'spec.triggers[0].template.azureServiceBus.subscriptionName: is required with topicName',
  ],
  custom: [
    'secure without certSecret',
    { serverURL: 'x:1', spec: {}, secure: true },
    'spec.triggers[0].template.custom.certSecret: is required when secure is true',
  ],
  http: [
    'not an http URL',
    { url: 'ftp://x' },
    'spec.triggers[0].template.http.url: "ftp://x" is not an http(s) URL',
  ],
};

const withRules = (models: Readonly<Record<string, TypeModel>>) =>
  Object.keys(models).filter((t) => Object.keys(models[t]!.rules ?? {}).length > 0);

test('every model with rules has a case below (a new rule comes with its test)', () => {
  assert.deepEqual(Object.keys(sourceRuleCases).sort(), withRules(sourceModels).sort());
  assert.deepEqual(Object.keys(triggerRuleCases).sort(), withRules(triggerModels).sort());
});

const errors = (doc: unknown) =>
  validateResource(doc)
    .filter((i) => i.severity === 'error')
    .map((i) => `${i.path}: ${i.message}`);

for (const [kind, cases, build] of [
  ['source', sourceRuleCases, es],
  ['trigger', triggerRuleCases, sensor],
] as const)
  for (const [type, [name, cfg, expected]] of Object.entries(cases))
    test(`${kind} rules through the registry: ${type}, ${name}`, () => {
      assert.deepEqual(errors(build(type, cfg)), [expected]);
    });

test("a source model's rules run on its own type only: a k8s trigger's s3 source needs no minio credentials", () => {
  assert.deepEqual(
    errors(sensor('k8s', { source: { s3: { endpoint: 'm:9000', bucket: { name: 'b' } } } })),
    [],
  );
});

test('rulesOf: a schema object gets its rules from one place only', () => {
  const rule = () => undefined;
  const model = (name: string): TypeModel => ({
    schema: { kind: 'object', name, properties: {} },
    rules: { [name]: rule },
  });
  assert.deepEqual(
    Object.keys(rulesOf({ a: model('A'), b: model('B') }, { Shared: rule })).sort(),
    ['A', 'B', 'Shared'],
  );
  assert.throws(
    () => rulesOf({ a: model('A'), b: model('A') }),
    /the b model defines rules for A, which already has rules/,
  );
  assert.throws(
    () => rulesOf({ a: model('Shared') }, { Shared: rule }),
    /the a model defines rules for Shared/,
  );
});
