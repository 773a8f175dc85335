/**
 * The model of one event source type or trigger type: its schema fragment and Argo's semantic
 * rules for it (Argo keeps both per type: `pkg/apis/events/v1alpha1` and
 * `pkg/eventsources/sources/<type>/validate.go`). One file per type in ./eventsources and
 * ./triggers; the registries there assemble the specs and dispatch the rules.
 */
import type { ObjectRule } from './schema-walk.js';
import type { ObjectNode } from './schema/dsl.schema.js';

export interface TypeModel {
  /** Schema of one configuration: a source's map entry (`spec.<type>.<event>`), a trigger's `template.<type>`. */
  readonly schema: ObjectNode;
  /** Semantic rules beyond the structure, keyed by the name of the schema object they check (run after its structure passed). */
  readonly rules?: Readonly<Record<string, ObjectRule>>;
}

/**
 * The rules of every model, keyed by schema object name, added to `shared` (the rules of objects
 * no type owns). A model may not claim an object another model or `shared` has a rule for.
 */
export function rulesOf(
  models: Readonly<Record<string, TypeModel>>,
  shared: Readonly<Record<string, ObjectRule>> = {},
): Record<string, ObjectRule> {
  const rules: Record<string, ObjectRule> = { ...shared };
  for (const [type, model] of Object.entries(models))
    for (const [name, rule] of Object.entries(model.rules ?? {})) {
      if (rules[name])
        throw new Error(`the ${type} model defines rules for ${name}, which already has rules`);
      rules[name] = rule;
    }
  return rules;
}
