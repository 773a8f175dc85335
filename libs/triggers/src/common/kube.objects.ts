import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ArtifactLocation, K8SResourcePolicy } from '@ganglion/api';
import {
  applyParameters,
  nextDelay,
  parseBackoff,
  ParameterError,
  type EventsByDependency,
} from '@ganglion/core';
import type { TriggerParameter } from '@ganglion/api';
import {
  isKubeError,
  KubeApiError,
  KubeRest,
  type KubeConfig,
  type KubeObject,
} from '@ganglion/k8s';
import type { TriggerContext, TriggerResult } from '../trigger.js';
import type { HttpClient } from './http.client.js';
import { TemplateError } from './params.helper.js';

/** Ganglion's annotation on objects it creates: the action that created it (idempotency check). */
export const ACTION_ID_ANNOTATION = 'events.ganglion.io/action-id';

/**
 * The deterministic name of an object created with `metadata.generateName`: the prefix and ten
 * hex characters of the action id's SHA-256, so a re-run of the same action (after a crash)
 * addresses the same object instead of creating a second one.
 */
export function deterministicName(generateName: string, actionId: string): string {
  const suffix = createHash('sha256').update(actionId).digest('hex').slice(0, 10);
  return `${generateName.slice(0, 63 - suffix.length)}${suffix}`;
}

/** Argo's labels on created objects (`events.argoproj.io/sensor`, `/trigger`, `/action-timestamp` in ms). */
function argoLabels(sensorName: string, triggerName: string, now: Date): Record<string, string> {
  return {
    'events.argoproj.io/sensor': sensorName,
    'events.argoproj.io/trigger': triggerName,
    'events.argoproj.io/action-timestamp': String(now.getTime()),
  };
}

/** Lazily built Kubernetes client shared by the k8s and argoWorkflow plugins. */
export class KubeAccess {
  private config: KubeConfig | undefined;
  /** One client per identity ('' = the service's own), each with its own discovery cache. */
  private readonly clients = new Map<string, KubeRest>();

  constructor(private readonly load: (() => KubeConfig) | undefined) {}

  /**
   * The client acting as `runAs` (impersonation; the service's own identity when unset); a
   * trigger that needs one without a configured cluster cannot succeed by retrying.
   */
  client(runAs?: string): KubeRest {
    let rest = this.clients.get(runAs ?? '');
    if (!rest) {
      if (!this.load)
        throw new TemplateError(
          'no Kubernetes API is configured for the trigger service (set GANGLION_KUBECONFIG or run it in a cluster)',
        );
      this.config ??= this.load();
      rest = new KubeRest(this.config, runAs);
      this.clients.set(runAs ?? '', rest);
    }
    return rest;
  }
}

/** Reads `source` (Argo `ArtifactLocation`) into an object: inline, resource, configmap, file or url. */
export async function fetchSource(
  source: ArtifactLocation | undefined,
  ctx: TriggerContext,
  kube: KubeAccess,
  http: HttpClient,
): Promise<KubeObject> {
  if (!source) throw new TemplateError('source is required');
  let text: string | undefined;
  if (source.resource) return structuredClone(source.resource) as KubeObject;
  if (source.inline !== undefined) text = source.inline;
  else if (source.file) text = await readFile(source.file.path, 'utf8');
  else if (source.url) {
    const res = await http.request({
      method: 'GET',
      url: source.url.path,
      headers: { Accept: 'application/yaml, application/json, */*' },
      timeoutMs: 30_000,
      // Verified unless `verifyCert: false` (Argo skips verification unless verifyCert is true).
      tls: { rejectUnauthorized: source.url.verifyCert !== false },
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    if (res.status >= 300) {
      const err = new KubeApiError(
        res.status,
        'SourceFetch',
        `GET ${source.url.path} → HTTP ${res.status}`,
      );
      if (res.status < 500) throw new TemplateError(err.message);
      throw err;
    }
    text = res.body.toString('utf8');
  } else if (source.configmap) {
    const cm = await kube
      .client(ctx.runAs)
      .find<KubeObject & { data?: Record<string, string> }>(
        'v1',
        'ConfigMap',
        ctx.namespace,
        source.configmap.name,
        ctx.signal,
      );
    if (!cm)
      throw new KubeApiError(
        404,
        'NotFound',
        `source ConfigMap ${ctx.namespace}/${source.configmap.name} does not exist`,
      );
    text = cm.data?.[source.configmap.key];
    if (text === undefined)
      throw new TemplateError(
        `source ConfigMap ${ctx.namespace}/${source.configmap.name} has no key "${source.configmap.key}"`,
      );
  } else if (source.s3 || source.git) {
    throw new TemplateError(
      `source.${source.s3 ? 's3' : 'git'} is not supported in this build (use inline, resource, configmap, file or url)`,
    );
  } else throw new TemplateError('source names none of inline, resource, configmap, file, url');
  let obj: unknown;
  try {
    // yaml loads on the first object read from a source (the trigger's idle memory).
    obj = (createRequire(import.meta.url)('yaml') as typeof Yaml).parse(text);
  } catch (err) {
    throw new TemplateError(`source is not YAML/JSON: ${(err as Error).message}`);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj))
    throw new TemplateError('source is not a Kubernetes object');
  return obj as KubeObject;
}

/** Applies the type-level `parameters` to the object (`dest` paths into the object). */
export function applyObjectParameters(
  obj: KubeObject,
  params: TriggerParameter[] | undefined,
  events: EventsByDependency,
): KubeObject {
  try {
    return applyParameters(obj, params, events) as KubeObject;
  } catch (err) {
    if (err instanceof ParameterError) throw new TemplateError(err.message);
    throw err;
  }
}

/** The object's identity; the namespace defaults to the sensor's and is dropped for cluster-scoped kinds. */
export async function identify(
  kube: KubeRest,
  obj: KubeObject,
  ctx: TriggerContext,
): Promise<{ apiVersion: string; kind: string; namespace: string | undefined }> {
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string')
    throw new TemplateError('the object has no apiVersion or kind');
  const info = await kube.resource(obj.apiVersion, obj.kind).catch((err: unknown) => {
    if (isKubeError(err, 404)) throw new TemplateError(err.message);
    throw err;
  });
  obj.metadata ??= {};
  if (info.namespaced) obj.metadata.namespace ||= ctx.namespace;
  else delete obj.metadata.namespace;
  return { apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace };
}

/**
 * Creates the object once per action: Argo's labels, the action id as an annotation, and a
 * `generateName` turned into a deterministic name ({@link deterministicName}). AlreadyExists on
 * an object this action created (a re-run after a crash) is success; on anyone else's object it
 * is an error.
 */
export async function createOnce(
  kube: KubeRest,
  obj: KubeObject,
  ctx: TriggerContext,
): Promise<{ object: KubeObject; existed: boolean }> {
  const { apiVersion, kind, namespace } = await identify(kube, obj, ctx);
  const meta = obj.metadata!;
  meta.labels = {
    ...(meta.labels ?? {}),
    ...argoLabels(ctx.sensorName, ctx.triggerName, ctx.now()),
  };
  meta.annotations = { ...(meta.annotations ?? {}), [ACTION_ID_ANNOTATION]: ctx.actionId };
  if (!meta.name && meta.generateName)
    meta.name = deterministicName(meta.generateName, ctx.actionId);
  delete meta.generateName;
  if (!meta.name)
    throw new TemplateError(`the ${kind} has neither metadata.name nor metadata.generateName`);
  delete meta.resourceVersion;
  try {
    const created = await kube.request<KubeObject>(
      'POST',
      await kube.path(apiVersion, kind, namespace),
      obj,
      'application/json',
      ctx.signal,
    );
    return { object: created, existed: false };
  } catch (err) {
    if (!isKubeError(err, 409)) throw err;
    const existing = await kube.get(apiVersion, kind, namespace, meta.name, ctx.signal);
    if (existing.metadata?.annotations?.[ACTION_ID_ANNOTATION] === ctx.actionId)
      return { object: existing, existed: true };
    throw new TemplateError(
      `${kind} ${namespace ? `${namespace}/` : ''}${meta.name} already exists and was not created by this action`,
    );
  }
}

/** `kind ns/name` for messages. */
export function describeObject(obj: KubeObject): string {
  return `${obj.kind ?? '?'} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name ?? '?'}`;
}

/**
 * `policy.k8s` (Argo `ResourceLabelsPolicy`): polls the object with the policy's backoff until
 * every label in `labels` has its value. When the backoff runs out the action fails only with
 * `errorOnBackoffTimeout` (retryable: the re-run finds the object and waits again).
 */
export async function waitForLabels(
  kube: KubeRest,
  obj: KubeObject,
  policy: K8SResourcePolicy | undefined,
  ctx: TriggerContext,
  done: string,
): Promise<TriggerResult> {
  if (!policy?.labels || Object.keys(policy.labels).length === 0) return { ok: true, detail: done };
  const backoff = parseBackoff(policy.backoff);
  const want = Object.entries(policy.labels);
  const name = obj.metadata?.name ?? '';
  for (let step = 0; ; step++) {
    const live = await kube.find(
      obj.apiVersion!,
      obj.kind!,
      obj.metadata?.namespace,
      name,
      ctx.signal,
    );
    const labels = live?.metadata?.labels ?? {};
    if (want.every(([k, v]) => labels[k] === v))
      return { ok: true, detail: `${done}; policy.k8s labels matched` };
    const delay = nextDelay(backoff, step, Math.random);
    if (delay === undefined) break;
    await sleep(delay, undefined, ctx.signal ? { signal: ctx.signal } : undefined);
  }
  const msg = `${done}; policy.k8s labels ${JSON.stringify(policy.labels)} not seen within the backoff`;
  return policy.errorOnBackoffTimeout
    ? { ok: false, error: msg, retryable: true }
    : { ok: true, detail: `${msg} (errorOnBackoffTimeout is false)` };
}

/** Turns an error of a Kubernetes trigger into an attempt result. */
export function kubeFailure(err: unknown, what: string): TriggerResult {
  if (err instanceof TemplateError)
    return { ok: false, error: `${what}: ${err.message}`, retryable: false };
  if (err instanceof KubeApiError) {
    const hint =
      err.code === 403
        ? ' (grant the trigger service account this access: see libs/triggers/src/k8s/README.md#rbac)'
        : '';
    return { ok: false, error: `${what}: ${err.message}${hint}`, retryable: err.retryable };
  }
  const e = err as Error & { code?: string };
  return {
    ok: false,
    error: `${what}: ${e.code ? `${e.code}: ` : ''}${e.message}`,
    retryable: true,
  };
}
