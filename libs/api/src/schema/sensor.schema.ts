/**
 * Sensor spec (Argo `pkg/apis/events/v1alpha1/sensor_types.go`): dependencies with filters and
 * transforms, and triggers of every type; each trigger type's schema is its model in
 * ../triggers, listed in ../triggers/trigger.registry.ts.
 */
import { Backoff, PodTemplate } from './common.schema.js';
import {
  arr,
  bool,
  enumOf,
  int,
  obj,
  ref,
  str,
  stringMap,
  withDoc,
  type Node,
  type ObjectNode,
} from './dsl.schema.js';
import { TriggerParameter } from '../triggers/trigger-fields.schema.js';
import { triggerModels } from '../triggers/trigger.registry.js';

const triggerTypes: Record<string, Node> = Object.fromEntries(
  Object.entries(triggerModels).map(([type, model]) => [type, model.schema]),
);

/** Argo `ConditionsResetCriteria`. */
const ConditionsResetCriteria = obj(
  'ConditionsResetCriteria',
  {
    byTime: obj(
      'ConditionsResetByTime',
      {
        cron: str('5-field cron schedule.', { format: 'cron' }),
        timezone: str('IANA time zone; UTC by default.', { format: 'timezone' }),
      },
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
    conditions: str(
      'Boolean expression over dependency names, e.g. "(a || b) && c"; all dependencies AND-ed by default.',
    ),
    ...triggerTypes,
    conditionsReset: arr(ConditionsResetCriteria, 'When partially satisfied conditions are reset.'),
  },
  {
    doc: 'Argo `TriggerTemplate`: a name, conditions and exactly one trigger type.',
    required: ['name'],
  },
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
        status: obj(
          'StatusPolicy',
          { allow: arr(int(), 'Response status codes counted as success.') },
          { required: ['allow'] },
        ),
      },
      { doc: 'Argo `TriggerPolicy`: what counts as success.' },
    ),
    retryStrategy: withDoc(Backoff, 'Retries of the trigger; one attempt by default.'),
    rateLimit: obj(
      'RateLimit',
      {
        unit: enumOf(['Second', 'Minute', 'Hour'], 'Time unit; Second by default.'),
        requestsPerUnit: int('Requests per unit.', { minimum: 0 }),
      },
      { doc: 'Argo `RateLimit`: blocks until a slot is free.' },
    ),
    atLeastOnce: bool('Run the trigger before the event is committed (at-least-once).'),
    dlqTrigger: ref(
      'Trigger',
      () => Trigger,
      'Trigger run when retries are exhausted; needs atLeastOnce here and there.',
    ),
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
const EventDependencyFilter = obj(
  'EventDependencyFilter',
  {
    time: obj(
      'TimeFilter',
      {
        start: str('Start "hh:mm:ss", inclusive.', { format: 'hh:mm:ss' }),
        stop: str('Stop "hh:mm:ss", exclusive.', { format: 'hh:mm:ss' }),
        timezone: str('IANA time zone; UTC by default.', { format: 'timezone' }),
      },
      {
        doc: 'Argo `TimeFilter`: a daily window; wraps midnight when stop < start.',
        required: ['start', 'stop'],
      },
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
          fields: arr(
            obj(
              'PayloadField',
              { path: str('gjson path.'), name: str('Name used in expr.') },
              { required: ['path', 'name'] },
            ),
            'Fields extracted from the data.',
          ),
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
const EventDependency = obj(
  'EventDependency',
  {
    name: str('Dependency name, used in conditions and parameters.'),
    eventSourceName: str('EventSource name (CloudEvent source).'),
    eventName: str('Event name (CloudEvent subject).'),
    filters: EventDependencyFilter,
    transform: obj(
      'EventDependencyTransformer',
      {
        jq: str('jq program; the first output must be an object.'),
        script: str('Lua script returning a table.'),
      },
      { doc: 'Argo `EventDependencyTransformer`: applied before filters.' },
    ),
    filtersLogicalOperator: enumOf(['and', 'or', ''], 'How filter kinds combine; and by default.'),
  },
  {
    doc: 'Argo `EventDependency`: an event a sensor waits for.',
    required: ['name', 'eventSourceName', 'eventName'],
  },
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
