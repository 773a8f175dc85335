import type { Trigger, TriggerType } from '@ganglion/api';
import type { EventsByDependency } from '@ganglion/core';
import type { SecretResolver } from '@ganglion/k8s';
import type { Logger } from '@ganglion/telemetry';

/** What a trigger execution needs besides its template. */
export interface TriggerContext {
  namespace: string;
  sensorName: string;
  triggerName: string;
  /** Deterministic id of the action; the idempotency key towards the target. */
  actionId: string;
  logger: Logger;
  secrets: SecretResolver;
  now: () => Date;
  /** Aborted when the service shuts down: plugins hand it to their I/O. */
  signal?: AbortSignal;
  /**
   * The user the Kubernetes API calls of the k8s and argoWorkflow triggers act as
   * (`system:serviceaccount:<namespace>:<Sensor spec.template.serviceAccountName>`), when the
   * service impersonates (`GANGLION_TRIGGER_IMPERSONATE`); unset: its own identity.
   */
  runAs?: string;
}

/** The result of one attempt. */
export type TriggerResult =
  | { ok: true; detail: string }
  | {
      ok: false;
      error: string;
      /** False when retrying cannot help (bad template, a 4xx, an unsupported type). */
      retryable: boolean;
      /** Set when the trigger type is not executed by this build. */
      unsupported?: true;
    };

/**
 * One trigger type (Argo's `Trigger` interface: FetchResource, ApplyResourceParameters,
 * Execute, ApplyPolicy, collapsed into one call). `template` is the type's spec with the
 * trigger-level parameters already applied; the plugin applies the type-level `parameters`.
 * Framework-free. Clients a plugin keeps (connections, producers) are released by `close`.
 */
export interface TriggerPlugin<T = unknown> {
  readonly type: TriggerType;
  execute(
    template: T,
    trigger: Trigger,
    events: EventsByDependency,
    ctx: TriggerContext,
  ): Promise<TriggerResult>;
  close?(): Promise<void>;
}
