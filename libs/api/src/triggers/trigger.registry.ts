/**
 * Every trigger type Argo knows, by its key (Argo `TriggerTemplate` field), with its model: the schema
 * fragment and the validation rules in ./<type>.model.ts. This is the one list of the types:
 * `TRIGGER_TYPES` and `TriggerType` (../types.ts) are its keys, the schema is assembled from it in this
 * order (the generated files follow it) and validation dispatches each type's rules through it.
 * Adding a type is adding its model file and its line here; the plugin registry of libs/triggers
 * (`satisfies Record<TriggerType, ...>`) then fails the build until it covers it too.
 */
import type { TypeModel } from '../type-model.js';
import { k8sTrigger } from './k8s.model.js';
import { argoWorkflowTrigger } from './argo-workflow.model.js';
import { httpTrigger } from './http.model.js';
import { awsLambdaTrigger } from './aws-lambda.model.js';
import { kafkaTrigger } from './kafka.model.js';
import { natsTrigger } from './nats.model.js';
import { pulsarTrigger } from './pulsar.model.js';
import { slackTrigger } from './slack.model.js';
import { emailTrigger } from './email.model.js';
import { openWhiskTrigger } from './open-whisk.model.js';
import { azureEventHubsTrigger } from './azure-event-hubs.model.js';
import { azureServiceBusTrigger } from './azure-service-bus.model.js';
import { logTrigger } from './log.model.js';
import { customTrigger } from './custom.model.js';

export const triggerModels = {
  k8s: k8sTrigger,
  argoWorkflow: argoWorkflowTrigger,
  http: httpTrigger,
  awsLambda: awsLambdaTrigger,
  kafka: kafkaTrigger,
  nats: natsTrigger,
  pulsar: pulsarTrigger,
  slack: slackTrigger,
  email: emailTrigger,
  openWhisk: openWhiskTrigger,
  azureEventHubs: azureEventHubsTrigger,
  azureServiceBus: azureServiceBusTrigger,
  log: logTrigger,
  custom: customTrigger,
} as const satisfies Record<string, TypeModel>;
