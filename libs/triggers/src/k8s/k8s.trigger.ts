import type { StandardK8STrigger } from '@ganglion/api';
import { HttpClient } from '../common/http.client.js';
import {
  applyObjectParameters,
  createOnce,
  describeObject,
  fetchSource,
  identify,
  kubeFailure,
  waitForLabels,
  type KubeAccess,
} from '../common/kube.objects.js';
import { isKubeError, type KubeObject, type KubeRest } from '@ganglion/k8s';
import { TemplateError } from '../common/params.helper.js';
import type { TriggerPlugin } from '../trigger.js';

/** Field manager of server-side apply (`patchStrategy: application/apply-patch+yaml`). */
const FIELD_MANAGER = 'ganglion-trigger';

type Json = unknown;
const isMap = (v: Json): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** mergo.Merge(live, desired, WithOverride): maps merged recursively, other values of `desired` win. */
function mergeOverride(live: Json, desired: Json): Json {
  if (!isMap(live) || !isMap(desired)) return desired === undefined ? live : desired;
  const out: Record<string, Json> = { ...live };
  for (const [k, v] of Object.entries(desired)) out[k] = k in live ? mergeOverride(live[k], v) : v;
  return out;
}

const escapePointer = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * RFC 6902 operations that turn `live` into `live` overlaid with `desired`: an `add` (which
 * replaces an existing member) at the highest path where the two differ, recursing into maps
 * present on both sides. apiVersion and kind are identity, not changes.
 */
function jsonPatchOps(
  live: Json,
  desired: Json,
  path = '',
): { op: 'add'; path: string; value: Json }[] {
  const ops: { op: 'add'; path: string; value: Json }[] = [];
  if (!isMap(desired)) return ops;
  for (const [k, v] of Object.entries(desired)) {
    if (path === '' && (k === 'apiVersion' || k === 'kind')) continue;
    const p = `${path}/${escapePointer(k)}`;
    const cur = isMap(live) ? live[k] : undefined;
    if (isMap(v) && isMap(cur)) ops.push(...jsonPatchOps(cur, v, p));
    else if (JSON.stringify(cur) !== JSON.stringify(v)) ops.push({ op: 'add', path: p, value: v });
  }
  return ops;
}

/** Server-managed metadata that must not travel in an update/patch body built from a live object. */
function stripServerFields(obj: KubeObject): KubeObject {
  if (obj.metadata) {
    delete obj.metadata.managedFields;
    delete obj.metadata.uid;
    delete obj.metadata.creationTimestamp;
    delete obj.metadata.generation;
    delete obj.metadata.resourceVersion;
  }
  delete obj.status;
  return obj;
}

const STRATEGIES = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
} as const;

async function patchObject(
  kube: KubeRest,
  live: KubeObject,
  obj: KubeObject,
  strategy: NonNullable<StandardK8STrigger['patchStrategy']>,
  signal?: AbortSignal,
): Promise<string> {
  const path = await kube.path(
    obj.apiVersion!,
    obj.kind!,
    obj.metadata?.namespace,
    obj.metadata!.name!,
  );
  const body = stripServerFields(structuredClone(obj));
  if (strategy === 'application/json-patch+json') {
    const ops = jsonPatchOps(live, body);
    if (ops.length === 0) return 'nothing to change';
    await kube.request('PATCH', path, ops, strategy, signal);
    return `${ops.length} JSON patch operation(s)`;
  }
  try {
    const query =
      strategy === 'application/apply-patch+yaml'
        ? `?fieldManager=${FIELD_MANAGER}&force=true`
        : '';
    await kube.request('PATCH', `${path}${query}`, body, strategy, signal);
  } catch (err) {
    if (isKubeError(err, 415) && strategy === 'application/strategic-merge-patch+json')
      throw new TemplateError(
        `strategic merge patch works only for built-in kinds, not ${obj.kind} (use application/merge-patch+json or application/json-patch+json)`,
      );
    throw err;
  }
  return `${STRATEGIES[strategy]} patch`;
}

/**
 * Argo's standard `k8s` trigger: create, update, patch or delete the object from `source`
 * (inline, resource, configmap, file, url) after applying the type-level `parameters` to it.
 * The kind's plural and scope come from API discovery; a namespaced object without a namespace
 * goes to the sensor's. `create` adds Argo's labels and is idempotent per action (see
 * {@link createOnce}); `update`/`patch` create the object when it is missing, as Argo does;
 * `delete` of a missing object succeeds. `policy.k8s` waits for labels on the object.
 */
export function createK8sTrigger(options: {
  kube: KubeAccess;
  http?: HttpClient;
}): TriggerPlugin<StandardK8STrigger> {
  const http = options.http ?? new HttpClient();
  return {
    type: 'k8s',
    async execute(template, trigger, events, ctx) {
      const operation = template.operation ?? 'create';
      let what = `k8s ${operation}`;
      try {
        const kube = options.kube.client(ctx.runAs);
        let obj = await fetchSource(template.source, ctx, options.kube, http);
        if (template.liveObject && (operation === 'update' || operation === 'patch')) {
          const id = await identify(kube, obj, ctx);
          if (obj.metadata?.name)
            obj =
              (await kube.find(
                id.apiVersion,
                id.kind,
                id.namespace,
                obj.metadata.name,
                ctx.signal,
              )) ?? obj;
        }
        obj = applyObjectParameters(obj, template.parameters, events);
        const { apiVersion, kind, namespace } = await identify(kube, obj, ctx);
        if (operation === 'create') {
          const { object, existed } = await createOnce(kube, obj, ctx);
          what = `${existed ? 'found (created earlier by this action)' : 'created'} ${describeObject(object)}`;
          return await waitForLabels(kube, object, trigger.policy?.k8s, ctx, what);
        }
        const name = obj.metadata?.name;
        if (!name) throw new TemplateError(`${operation} needs metadata.name on the ${kind}`);
        what = `k8s ${operation} ${describeObject(obj)}`;
        const live = await kube.find(apiVersion, kind, namespace, name, ctx.signal);
        if (operation === 'delete') {
          if (!live)
            return { ok: true, detail: `${describeObject(obj)} not found, nothing to delete` };
          await kube.request(
            'DELETE',
            await kube.path(apiVersion, kind, namespace, name),
            undefined,
            undefined,
            ctx.signal,
          );
          return { ok: true, detail: `deleted ${describeObject(obj)}` };
        }
        if (!live) {
          const { object } = await createOnce(kube, obj, ctx);
          return await waitForLabels(
            kube,
            object,
            trigger.policy?.k8s,
            ctx,
            `${operation}: ${describeObject(object)} did not exist, created it`,
          );
        }
        let done: string;
        if (operation === 'update') {
          const merged = mergeOverride(live, obj) as KubeObject;
          merged.metadata!.resourceVersion = live.metadata?.resourceVersion;
          await kube.request(
            'PUT',
            await kube.path(apiVersion, kind, namespace, name),
            merged,
            'application/json',
            ctx.signal,
          );
          done = `updated ${describeObject(obj)}`;
        } else {
          const how = await patchObject(
            kube,
            live,
            obj,
            template.patchStrategy ?? 'application/merge-patch+json',
            ctx.signal,
          );
          done = `patched ${describeObject(obj)} (${how})`;
        }
        return await waitForLabels(kube, obj, trigger.policy?.k8s, ctx, done);
      } catch (err) {
        return kubeFailure(err, what);
      }
    },
    async close() {
      if (!options.http) http.close();
    },
  };
}
