/**
 * A tiny schema DSL: the argoproj.io/v1alpha1 resource model is written once as data with these
 * builders, and the TypeScript types, the JSON Schema, the CRD openAPIV3Schema and the structural
 * part of validation are all derived from it. Pure data, no I/O.
 */

/** Fields every node may carry. */
interface NodeBase {
  /** Description of the type; name the Argo type or field it mirrors. */
  doc?: string;
  /** Description of a field using a shared type (set by {@link withDoc}); falls back to `doc`. */
  fieldDoc?: string;
  /** When set, using the field yields a deprecation warning with this hint. */
  deprecated?: string;
}

export interface StringNode extends NodeBase {
  kind: 'string';
  enum?: readonly string[];
  /** Documentation-level format hint, e.g. `duration` (Go duration), `cron`. */
  format?: 'duration' | 'cron' | 'timezone' | 'url' | 'hh:mm:ss' | 'date-time';
  /** A required string that may be empty (`dest` of a payload parameter). */
  allowEmpty?: boolean;
}
export interface IntegerNode extends NodeBase {
  kind: 'integer';
  minimum?: number;
  maximum?: number;
}
export interface NumberNode extends NodeBase {
  kind: 'number';
  minimum?: number;
}
export interface BooleanNode extends NodeBase {
  kind: 'boolean';
}
/** Kubernetes `IntOrString` (e.g. Argo's `Int64OrString` backoff duration). */
export interface IntOrStringNode extends NodeBase {
  kind: 'intOrString';
}
export interface ArrayNode extends NodeBase {
  kind: 'array';
  items: Node;
}
/** An object with free keys and uniform values (`map[string]T`). */
export interface MapNode extends NodeBase {
  kind: 'map';
  values: Node;
}
export interface ObjectNode extends NodeBase {
  kind: 'object';
  /** Interface name in the generated TypeScript; unnamed objects are inlined. */
  name?: string;
  properties: Readonly<Record<string, Node>>;
  required?: readonly string[];
  /** Groups of fields of which at least one must be set. */
  atLeastOne?: readonly (readonly string[])[];
}
/** A free-form object (Kubernetes types Argo embeds: pod specs, affinity, resources, ...). */
export interface FreeNode extends NodeBase {
  kind: 'free';
}
/** A reference to a named object, used for recursion (`dlqTrigger` is a `Trigger`). */
export interface RefNode extends NodeBase {
  kind: 'ref';
  name: string;
  target: () => ObjectNode;
}

export type Node =
  | StringNode
  | IntegerNode
  | NumberNode
  | BooleanNode
  | IntOrStringNode
  | ArrayNode
  | MapNode
  | ObjectNode
  | FreeNode
  | RefNode;

type Opts<N extends NodeBase> = Omit<N, 'kind'>;

export const str = (doc?: string, o: Omit<Opts<StringNode>, 'doc'> = {}): StringNode => ({
  kind: 'string',
  doc,
  ...o,
});
export const enumOf = (values: readonly string[], doc?: string): StringNode => ({
  kind: 'string',
  enum: values,
  doc,
});
export const int = (doc?: string, o: Omit<Opts<IntegerNode>, 'doc'> = {}): IntegerNode => ({
  kind: 'integer',
  doc,
  ...o,
});
export const num = (doc?: string, o: Omit<Opts<NumberNode>, 'doc'> = {}): NumberNode => ({
  kind: 'number',
  doc,
  ...o,
});
export const bool = (doc?: string): BooleanNode => ({ kind: 'boolean', doc });
export const intOrString = (doc?: string): IntOrStringNode => ({ kind: 'intOrString', doc });
export const arr = (items: Node, doc?: string): ArrayNode => ({ kind: 'array', items, doc });
export const map = (values: Node, doc?: string): MapNode => ({ kind: 'map', values, doc });
export const free = (doc?: string): FreeNode => ({ kind: 'free', doc });
export const ref = (name: string, target: () => ObjectNode, doc?: string): RefNode => ({
  kind: 'ref',
  name,
  target,
  doc,
});

export function obj(
  name: string | undefined,
  properties: Record<string, Node>,
  o: {
    doc?: string;
    required?: readonly string[];
    atLeastOne?: readonly (readonly string[])[];
  } = {},
): ObjectNode {
  return { kind: 'object', name, properties, ...o };
}

/** Same node with a different doc (a field-specific description of a shared type). */
export function withDoc<N extends Node>(node: N, doc: string): N {
  return { ...node, fieldDoc: doc };
}

/** The description to show for a field of this node. */
export const fieldDocOf = (node: Node): string | undefined => node.fieldDoc ?? node.doc;

/** Same node marked deprecated, with the replacement to suggest. */
export function deprecated<N extends Node>(node: N, hint: string): N {
  return { ...node, deprecated: hint };
}

/** A `map[string]string`. */
export const stringMap = (doc?: string): MapNode => map(str(), doc);
