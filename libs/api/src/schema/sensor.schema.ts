/**
 * Sensor spec (Argo `pkg/apis/events/v1alpha1/sensor_types.go`): dependencies with filters and
 * transforms, and triggers of every type.
 */
import { S3Artifact } from './event-source.schema.js';
import {
  BasicAuth,
  Backoff,
  ConfigMapKeySelector,
  NATSAuth,
  PodTemplate,
  SASLConfig,
  SchemaRegistryConfig,
  TLSConfig,
  secret,
} from './common.schema.js';
import { arr, bool, deprecated, enumOf, free, int, obj, ref, str, stringMap, withDoc, type ObjectNode } from './dsl.schema.js';

export const COMPARATORS = ['>=', '>', '=', '!=', '<', '<='] as const;
export const LOGICAL_OPERATORS = ['and', 'or'] as const;

/** Argo `TriggerParameterSource`. */
export const TriggerParameterSource = obj(
  'TriggerParameterSource',
  {
    dependencyName: str('Dependency whose event supplies the value.'),
    contextKey: str('gjson path into the event context.'),
    contextTemplate: str('Go template over the event context (`.Input`).'),
    dataKey: str('gjson path into the event data.'),
    dataTemplate: str('Go template over the event data (`.Input`).'),
    value: str('Default value, used when nothing else resolves.'),
    useRawData: bool('Insert JSON, numbers and bools unquoted.'),
  },
  { doc: 'Argo `TriggerParameterSource`: where a parameter value comes from.', required: ['dependencyName'] },
);

/** Argo `TriggerParameter`. */
export const TriggerParameter = obj(
  'TriggerParameter',
  {
    src: TriggerParameterSource,
    dest: str('sjson path in the target (`-1` appends); empty in `payload` means the whole body.', { allowEmpty: true }),
    operation: enumOf(['overwrite', 'append', 'prepend'], 'How the value is combined with the existing one; overwrite by default.'),
  },
  { doc: 'Argo `TriggerParameter`: copies a value from an event into a trigger or payload.', required: ['src', 'dest'] },
);

const parameters = arr(TriggerParameter, 'Parameters applied to this trigger type\'s resource.');
const payload = arr(TriggerParameter, 'Parameters that build the payload sent.');
const tls = withDoc(TLSConfig, 'TLS settings.');

/** Argo `ArtifactLocation`: where a k8s or argoWorkflow trigger reads its resource. */
export const ArtifactLocation = obj(
  'ArtifactLocation',
  {
    s3: S3Artifact,
    inline: str('The resource as a YAML or JSON string.'),
    file: obj('FileArtifact', { path: str('Path of the file.') }, { required: ['path'] }),
    url: obj('URLArtifact', { path: str('URL of the resource.'), verifyCert: bool('Verify the TLS certificate.') }, { required: ['path'] }),
    configmap: withDoc(ConfigMapKeySelector, 'A ConfigMap key holding the resource.'),
    git: obj(
      'GitArtifact',
      {
        url: str('Repository URL.'),
        cloneDirectory: str('Where to clone.'),
        creds: obj('GitCreds', { username: secret('User name.'), password: secret('Password.') }),
        sshKeySecret: secret('SSH private key.'),
        filePath: str('Path of the resource in the repository.'),
        branch: str('Branch.'),
        tag: str('Tag.'),
        ref: str('Any git ref.'),
        remote: obj('GitRemoteConfig', { name: str('Remote name.'), urls: arr(str(), 'Remote URLs.') }, { required: ['name', 'urls'] }),
        insecureIgnoreHostKey: bool('Skip SSH host key verification.'),
        githubApp: obj('GitGithubAppCreds', { privateKey: secret('App private key.'), appID: int('App id.'), installationID: int('Installation id.') }),
      },
      { doc: 'Argo `GitArtifact`.', required: ['url', 'cloneDirectory', 'filePath'] },
    ),
    resource: free('The resource as an embedded object.'),
  },
  { doc: 'Argo `ArtifactLocation`: one source of a Kubernetes resource.', atLeastOne: [['s3', 'inline', 'file', 'url', 'configmap', 'git', 'resource']] },
);

const SecureHeader = obj(
  'SecureHeader',
  {
    name: str('Header name.'),
    valueFrom: obj(
      'ValueFromSource',
      { secretKeyRef: secret('Value from a Secret.'), configMapKeyRef: withDoc(ConfigMapKeySelector, 'Value from a ConfigMap.') },
      { atLeastOne: [['secretKeyRef', 'configMapKeyRef']] },
    ),
  },
  { doc: 'Argo `SecureHeader`: a header whose value is read from a Secret or ConfigMap.', required: ['name', 'valueFrom'] },
);

/** Trigger types, one entry per template key (Argo `TriggerTemplate`). */
export const triggerTypes = {
  k8s: obj(
    'StandardK8STrigger',
    {
      source: ArtifactLocation,
      operation: enumOf(['create', 'update', 'patch', 'delete'], 'Operation; create by default.'),
      parameters,
      patchStrategy: enumOf(
        ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'],
        'Patch type for patch; merge patch by default.',
      ),
      liveObject: bool('Fetch the live object before update/patch.'),
    },
    { doc: 'Argo `StandardK8STrigger`: create, update, patch or delete a Kubernetes object.', required: ['source'] },
  ),
  argoWorkflow: obj(
    'ArgoWorkflowTrigger',
    {
      source: ArtifactLocation,
      operation: enumOf(['submit', 'submit-from', 'resubmit', 'resume', 'retry', 'suspend', 'terminate', 'stop'], 'Operation; submit by default.'),
      parameters,
      args: arr(str(), 'Extra arguments for the operation.'),
    },
    { doc: 'Argo `ArgoWorkflowTrigger`: submit or act on an Argo Workflow.', required: ['source'] },
  ),
  http: obj(
    'HTTPTrigger',
    {
      url: str('URL to call.'),
      payload,
      tls,
      method: enumOf(['GET', 'DELETE', 'PATCH', 'POST', 'PUT'], 'HTTP method; POST by default.'),
      parameters,
      timeout: int('Request timeout in seconds; 60 by default.', { minimum: 1 }),
      basicAuth: withDoc(BasicAuth, 'Basic authentication.'),
      headers: stringMap('Request headers.'),
      secureHeaders: arr(SecureHeader, 'Headers read from Secrets or ConfigMaps.'),
      dynamicHeaders: arr(TriggerParameter, 'Headers from event data; dest is the header name.'),
    },
    { doc: 'Argo `HTTPTrigger`: an HTTP request.', required: ['url'] },
  ),
  awsLambda: obj(
    'AWSLambdaTrigger',
    {
      functionName: str('Lambda function name.'),
      accessKey: secret('AWS access key.'),
      secretKey: secret('AWS secret key.'),
      region: str('AWS region.'),
      payload,
      parameters,
      invocationType: enumOf(['RequestResponse', 'Event', 'DryRun'], 'Invocation type; RequestResponse by default.'),
      roleARN: str('Role to assume.'),
    },
    { doc: 'Argo `AWSLambdaTrigger`: invoke an AWS Lambda function.', required: ['functionName', 'region', 'payload'] },
  ),
  kafka: obj(
    'KafkaTrigger',
    {
      url: str('Comma-separated brokers.'),
      topic: str('Topic.'),
      partition: deprecated(int('Partition.'), 'use partitioningKey'),
      parameters,
      requiredAcks: int('Acks required: 0, 1 or -1 (all); 1 by default.', { minimum: -1, maximum: 1 }),
      compress: bool('Compress with snappy.'),
      flushFrequency: int('Flush interval in milliseconds; 500 by default.', { minimum: 0 }),
      tls,
      payload,
      partitioningKey: str('Message key (a parameter dest or a fixed value).'),
      version: str('Kafka protocol version.'),
      sasl: SASLConfig,
      schemaRegistry: SchemaRegistryConfig,
      headers: stringMap('Message headers.'),
      secureHeaders: arr(SecureHeader, 'Headers read from Secrets or ConfigMaps.'),
    },
    { doc: 'Argo `KafkaTrigger`: produce a message to Kafka.', required: ['url', 'topic', 'payload'] },
  ),
  nats: obj(
    'NATSTrigger',
    { url: str('NATS URL.'), subject: str('Subject.'), payload, parameters, tls, auth: NATSAuth },
    { doc: 'Argo `NATSTrigger`: publish to NATS.', required: ['url', 'subject', 'payload'] },
  ),
  pulsar: obj(
    'PulsarTrigger',
    {
      url: str('Pulsar URL.'),
      topic: str('Topic.'),
      parameters,
      payload,
      tlsTrustCertsSecret: secret('Trusted CA certificates.'),
      tlsAllowInsecureConnection: bool('Allow an insecure TLS connection.'),
      tlsValidateHostname: bool('Validate the server host name.'),
      tls,
      authTokenSecret: secret('Authentication token.'),
      connectionBackoff: withDoc(Backoff, 'Retry schedule for connecting.'),
      authAthenzParams: stringMap('Athenz parameters.'),
      authAthenzSecret: secret('Athenz private key.'),
    },
    { doc: 'Argo `PulsarTrigger`: produce to Pulsar.', required: ['url', 'topic'] },
  ),
  slack: obj(
    'SlackTrigger',
    {
      parameters,
      slackToken: secret('Slack bot token.'),
      channel: str('Channel to post to.'),
      message: str('Message text.'),
      attachments: str('Attachments as a JSON string.'),
      blocks: str('Blocks as a JSON string.'),
      thread: obj('SlackThread', { messageAggregationKey: str('Key grouping messages in one thread.'), broadcastMessageToChannel: bool('Also post to the channel.') }),
      sender: obj('SlackSender', { username: str('Display name.'), icon: str('Icon URL or emoji.') }),
    },
    { doc: 'Argo `SlackTrigger`: post a Slack message.', required: ['slackToken'] },
  ),
  email: obj(
    'EmailTrigger',
    {
      parameters,
      username: str('SMTP user name.'),
      smtpPassword: secret('SMTP password.'),
      host: str('SMTP host.'),
      port: int('SMTP port.', { minimum: 0, maximum: 65535 }),
      to: arr(str(), 'Recipients.'),
      from: str('Sender.'),
      subject: str('Subject.'),
      body: str('Body.'),
    },
    { doc: 'Argo `EmailTrigger`: send an email over SMTP.', required: ['host'] },
  ),
  openWhisk: obj(
    'OpenWhiskTrigger',
    {
      host: str('OpenWhisk host.'),
      version: str('API version; v1 by default.'),
      namespace: str('Namespace; "_" by default.'),
      authToken: secret('Authentication token.'),
      actionName: str('Action to invoke.'),
      payload,
      parameters,
    },
    { doc: 'Argo `OpenWhiskTrigger`: invoke an OpenWhisk action.', required: ['host', 'actionName', 'payload'] },
  ),
  azureEventHubs: obj(
    'AzureEventHubsTrigger',
    {
      fqdn: str('Fully qualified namespace.'),
      hubName: str('Event hub name.'),
      sharedAccessKeyName: secret('Shared access policy name.'),
      sharedAccessKey: secret('Shared access key.'),
      payload,
      parameters,
    },
    { doc: 'Argo `AzureEventHubsTrigger`: send to Azure Event Hubs.', required: ['fqdn', 'hubName', 'sharedAccessKeyName', 'sharedAccessKey'] },
  ),
  azureServiceBus: obj(
    'AzureServiceBusTrigger',
    {
      connectionString: secret('Connection string.'),
      queueName: str('Queue name.'),
      topicName: str('Topic name.'),
      subscriptionName: str('Subscription name.'),
      tls,
      payload,
      parameters,
    },
    { doc: 'Argo `AzureServiceBusTrigger`: send to Azure Service Bus.', required: ['connectionString'], atLeastOne: [['queueName', 'topicName']] },
  ),
  log: obj('LogTrigger', { intervalSeconds: int('Log at most once per this many seconds.', { minimum: 0 }) }, { doc: 'Argo `LogTrigger`: log the events.' }),
  custom: obj(
    'CustomTrigger',
    {
      serverURL: str('Address of the gRPC trigger server.'),
      secure: bool('Connect with TLS.'),
      certSecret: secret('CA certificate (with secure).'),
      serverNameOverride: str('TLS server name.'),
      spec: stringMap('Opaque specification sent to the server.'),
      parameters,
      payload,
    },
    { doc: 'Argo `CustomTrigger`: a gRPC trigger plug-in.', required: ['serverURL', 'spec'] },
  ),
} satisfies Record<string, ObjectNode>;

/** Argo `ConditionsResetCriteria`. */
const ConditionsResetCriteria = obj(
  'ConditionsResetCriteria',
  {
    byTime: obj(
      'ConditionsResetByTime',
      { cron: str('5-field cron schedule.', { format: 'cron' }), timezone: str('IANA time zone; UTC by default.', { format: 'timezone' }) },
      { required: ['cron'] },
    ),
  },
  { doc: 'Argo `ConditionsResetCriteria`: when partially satisfied conditions are dropped.' },
);

/** Argo `TriggerTemplate`. */
export const TriggerTemplate = obj(
  'TriggerTemplate',
  {
    name: str('Trigger name, unique within the sensor.'),
    conditions: str('Boolean expression over dependency names, e.g. "(a || b) && c"; all dependencies AND-ed by default.'),
    ...triggerTypes,
    conditionsReset: arr(ConditionsResetCriteria, 'When partially satisfied conditions are reset.'),
  },
  { doc: 'Argo `TriggerTemplate`: a name, conditions and exactly one trigger type.', required: ['name'] },
);

/** Argo `Trigger`. */
export const Trigger: ObjectNode = obj(
  'Trigger',
  {
    template: TriggerTemplate,
    parameters: arr(TriggerParameter, 'Parameters applied to the whole template.'),
    policy: obj(
      'TriggerPolicy',
      {
        k8s: obj(
          'K8SResourcePolicy',
          {
            labels: stringMap('Labels that mark the created resource as successful.'),
            backoff: withDoc(Backoff, 'How long to poll.'),
            errorOnBackoffTimeout: bool('Fail when the labels never match.'),
          },
          { required: ['labels'] },
        ),
        status: obj('StatusPolicy', { allow: arr(int(), 'Response status codes counted as success.') }, { required: ['allow'] }),
      },
      { doc: 'Argo `TriggerPolicy`: what counts as success.' },
    ),
    retryStrategy: withDoc(Backoff, 'Retries of the trigger; one attempt by default.'),
    rateLimit: obj(
      'RateLimit',
      { unit: enumOf(['Second', 'Minute', 'Hour'], 'Time unit; Second by default.'), requestsPerUnit: int('Requests per unit.', { minimum: 0 }) },
      { doc: 'Argo `RateLimit`: blocks until a slot is free.' },
    ),
    atLeastOnce: bool('Run the trigger before the event is committed (at-least-once).'),
    dlqTrigger: ref('Trigger', () => Trigger, 'Trigger run when retries are exhausted; needs atLeastOnce here and there.'),
  },
  { doc: 'Argo `Trigger`: what a sensor does when its conditions hold.', required: ['template'] },
);

/** Argo `DataFilter`. */
const DataFilter = obj(
  'DataFilter',
  {
    path: str('gjson path into the event data.'),
    type: enumOf(['bool', 'number', 'string'], 'Type the value is compared as.'),
    value: arr(str(), 'Values, OR-ed; regular expressions for strings.'),
    comparator: enumOf(['>=', '>', '=', '!=', '<', '<=', ''], 'Comparator; "=" by default.'),
    template: str('Go template applied to the value before comparing (`.Input`).'),
  },
  { doc: 'Argo `DataFilter`.', required: ['path', 'type', 'value'] },
);

/** Argo `EventDependencyFilter`. */
export const EventDependencyFilter = obj(
  'EventDependencyFilter',
  {
    time: obj(
      'TimeFilter',
      { start: str('Start "hh:mm:ss", inclusive.', { format: 'hh:mm:ss' }), stop: str('Stop "hh:mm:ss", exclusive.', { format: 'hh:mm:ss' }), timezone: str('IANA time zone; UTC by default.', { format: 'timezone' }) },
      { doc: 'Argo `TimeFilter`: a daily window; wraps midnight when stop < start.', required: ['start', 'stop'] },
    ),
    context: obj(
      'EventContext',
      {
        id: str('Event id.'),
        source: str('CloudEvent source (the EventSource name).'),
        specversion: str('CloudEvents spec version.'),
        type: str('CloudEvent type (the source type).'),
        datacontenttype: str('Content type of the data.'),
        subject: str('CloudEvent subject (the event name).'),
        time: str('Event time.'),
      },
      { doc: 'Argo `EventContext`: exact match on the non-empty fields.' },
    ),
    data: arr(DataFilter, 'Data filters.'),
    exprs: arr(
      obj(
        'ExprFilter',
        {
          expr: str('govaluate expression over the named fields.'),
          fields: arr(obj('PayloadField', { path: str('gjson path.'), name: str('Name used in expr.') }, { required: ['path', 'name'] }), 'Fields extracted from the data.'),
        },
        { doc: 'Argo `ExprFilter`.', required: ['expr', 'fields'] },
      ),
      'Expression filters.',
    ),
    dataLogicalOperator: enumOf(['and', 'or', ''], 'How data filters combine; and by default.'),
    exprLogicalOperator: enumOf(['and', 'or', ''], 'How expr filters combine; and by default.'),
    script: str('Lua script; its last value must be true.'),
  },
  { doc: 'Argo `EventDependencyFilter`.' },
);

/** Argo `EventDependency`. */
export const EventDependency = obj(
  'EventDependency',
  {
    name: str('Dependency name, used in conditions and parameters.'),
    eventSourceName: str('EventSource name (CloudEvent source).'),
    eventName: str('Event name (CloudEvent subject).'),
    filters: EventDependencyFilter,
    transform: obj('EventDependencyTransformer', { jq: str('jq program; the first output must be an object.'), script: str('Lua script returning a table.') }, { doc: 'Argo `EventDependencyTransformer`: applied before filters.' }),
    filtersLogicalOperator: enumOf(['and', 'or', ''], 'How filter kinds combine; and by default.'),
  },
  { doc: 'Argo `EventDependency`: an event a sensor waits for.', required: ['name', 'eventSourceName', 'eventName'] },
);

/** Argo `SensorSpec`. */
export const SensorSpec = obj(
  'SensorSpec',
  {
    dependencies: arr(EventDependency, 'Events the sensor waits for.'),
    triggers: arr(Trigger, 'Actions to run.'),
    template: withDoc(PodTemplate, 'Pod template of the sensor deployment.'),
    errorOnFailedRound: bool('Declared by Argo but not used by it.'),
    eventBusName: str('EventBus to read from; "default" by default.'),
    replicas: int('Number of pods; 1 by default.', { minimum: 0 }),
    revisionHistoryLimit: int('Deployment revision history limit.', { minimum: 0 }),
    loggingFields: stringMap('Extra fields for every log line.'),
  },
  { doc: 'Argo `SensorSpec`.', required: ['dependencies', 'triggers'] },
);
