/**
 * Renders the schema as JSON Schema (draft 2020-12, for editors and `ganglion lint` users) and as
 * the structural openAPIV3Schema of the CRDs (no `$ref`, recursion cut with
 * `x-kubernetes-preserve-unknown-fields`, free-form Kubernetes types preserved).
 */
import { fieldDocOf, type Node } from './dsl.schema.js';
import {
  API_GROUP,
  API_GROUP_VERSION,
  RESOURCE_SCHEMAS,
  type ResourceKindSchema,
} from './resources.schema.js';

type Json = { [k: string]: unknown };
type Flavor = 'json' | 'crd';

function describe(node: Node): Json {
  const parts = [
    fieldDocOf(node),
    node.deprecated ? `Deprecated: ${node.deprecated}.` : undefined,
  ].filter(Boolean);
  return parts.length ? { description: parts.join(' ') } : {};
}

function render(node: Node, flavor: Flavor, defs: Map<string, Json>, inline = false): Json {
  const d = describe(node);
  switch (node.kind) {
    case 'string':
      return { type: 'string', ...d, ...(node.enum ? { enum: [...node.enum] } : {}) };
    case 'integer':
      return {
        type: 'integer',
        ...d,
        ...(node.minimum !== undefined ? { minimum: node.minimum } : {}),
        ...(node.maximum !== undefined ? { maximum: node.maximum } : {}),
      };
    case 'number':
      return {
        type: 'number',
        ...d,
        ...(node.minimum !== undefined ? { minimum: node.minimum } : {}),
      };
    case 'boolean':
      return { type: 'boolean', ...d };
    case 'intOrString':
      return flavor === 'crd'
        ? { 'x-kubernetes-int-or-string': true, ...d }
        : { type: ['integer', 'string'], ...d };
    case 'free':
      return flavor === 'crd'
        ? { type: 'object', ...d, 'x-kubernetes-preserve-unknown-fields': true }
        : { type: 'object', ...d };
    case 'array':
      return { type: 'array', ...d, items: render(node.items, flavor, defs) };
    case 'map':
      return { type: 'object', ...d, additionalProperties: render(node.values, flavor, defs) };
    case 'ref':
      if (flavor === 'crd')
        return { type: 'object', ...d, 'x-kubernetes-preserve-unknown-fields': true };
      if (!defs.has(node.name)) {
        defs.set(node.name, {});
        defs.set(node.name, render(node.target(), flavor, defs, true));
      }
      return { $ref: `#/$defs/${node.name}`, ...d };
    case 'object': {
      if (flavor === 'json' && node.name && !inline) {
        if (!defs.has(node.name)) {
          defs.set(node.name, {});
          defs.set(node.name, render(node, flavor, defs, true));
        }
        const { description } = d as { description?: string };
        return description && description !== node.doc
          ? { $ref: `#/$defs/${node.name}`, description }
          : { $ref: `#/$defs/${node.name}` };
      }
      const properties: Json = {};
      for (const [k, child] of Object.entries(node.properties))
        properties[k] = render(child, flavor, defs);
      return {
        type: 'object',
        ...d,
        ...(node.required?.length ? { required: [...node.required] } : {}),
        properties,
        ...(flavor === 'json' ? { additionalProperties: false } : {}),
        ...(flavor === 'json' && node.atLeastOne?.length
          ? {
              allOf: node.atLeastOne.map((group) => ({
                anyOf: group.map((f) => ({ required: [f] })),
              })),
            }
          : {}),
      };
    }
  }
}

function documentSchema(r: ResourceKindSchema, flavor: Flavor, defs: Map<string, Json>): Json {
  const spec = render(r.spec, flavor, defs, true);
  return {
    type: 'object',
    description: `${r.kind} (${API_GROUP}/${API_GROUP_VERSION}): ${r.doc}`,
    required: flavor === 'json' ? ['apiVersion', 'kind', 'metadata', 'spec'] : ['spec'],
    properties: {
      apiVersion:
        flavor === 'json' ? { const: `${API_GROUP}/${API_GROUP_VERSION}` } : { type: 'string' },
      kind: flavor === 'json' ? { const: r.kind } : { type: 'string' },
      metadata:
        flavor === 'json'
          ? {
              type: 'object',
              required: ['name'],
              properties: { name: { type: 'string' }, namespace: { type: 'string' } },
            }
          : { type: 'object' },
      spec,
      status:
        flavor === 'crd'
          ? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }
          : { type: 'object' },
    },
  };
}

/** JSON Schema of one kind, keyed by file name (`eventsource.schema.json`, ...). */
export function renderJsonSchemas(): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const r of RESOURCE_SCHEMAS) {
    const defs = new Map<string, Json>();
    const doc = documentSchema(r, 'json', defs);
    out[`${r.singular}.schema.json`] = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: r.kind,
      ...doc,
      ...(defs.size
        ? { $defs: Object.fromEntries([...defs].sort(([a], [b]) => a.localeCompare(b))) }
        : {}),
    };
  }
  return out;
}

/** CRD objects (apiextensions.k8s.io/v1), keyed by file name (`argoproj.io_eventsources.yaml`, ...). */
export function renderCrds(): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const r of RESOURCE_SCHEMAS) {
    out[`${API_GROUP}_${r.plural}.yaml`] = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: {
        name: `${r.plural}.${API_GROUP}`,
        labels: { 'app.kubernetes.io/part-of': 'ganglion' },
      },
      spec: {
        group: API_GROUP,
        names: {
          kind: r.kind,
          listKind: `${r.kind}List`,
          plural: r.plural,
          singular: r.singular,
          shortNames: [...r.shortNames],
        },
        scope: 'Namespaced',
        versions: [
          {
            name: API_GROUP_VERSION,
            served: true,
            storage: true,
            subresources: { status: {} },
            additionalPrinterColumns: [
              { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            ],
            schema: { openAPIV3Schema: documentSchema(r, 'crd', new Map()) },
          },
        ],
      },
    };
  }
  return out;
}
