import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { generatedFiles } from './generated-files.js';
import { renderCrds, renderJsonSchemas } from './json-schema.render.js';

const root = new URL('../../../../', import.meta.url);

test('committed generated files match the schema (run scripts/generate.sh when this fails)', () => {
  for (const [path, content] of Object.entries(generatedFiles()))
    assert.equal(readFileSync(new URL(path, root), 'utf8'), content, `${path} drifted`);
});

type S = Record<string, unknown>;
/** Structural-schema constraints the Kubernetes API server enforces on CRDs. */
function assertStructural(s: S, path: string): void {
  assert.equal(s['$ref'], undefined, `${path}: $ref is not allowed`);
  const typed = typeof s['type'] === 'string' || s['x-kubernetes-int-or-string'] === true;
  assert.ok(typed, `${path}: every node needs a type`);
  assert.ok(
    !(s['properties'] && s['additionalProperties']),
    `${path}: properties and additionalProperties are exclusive`,
  );
  for (const [k, v] of Object.entries((s['properties'] as Record<string, S> | undefined) ?? {}))
    assertStructural(v, `${path}.${k}`);
  if (s['items']) assertStructural(s['items'] as S, `${path}[]`);
  if (s['additionalProperties']) assertStructural(s['additionalProperties'] as S, `${path}.*`);
}

for (const [file, crd] of Object.entries(renderCrds()))
  test(`crd ${file}: structural schema, status subresource, short names`, () => {
    const doc = parse(readFileSync(new URL(`deploy/crds/${file}`, root), 'utf8')) as S;
    assert.deepEqual(doc, crd);
    const spec = crd['spec'] as {
      names: { shortNames: string[] };
      versions: { subresources: S; schema: { openAPIV3Schema: S } }[];
    };
    assert.equal(spec.names.shortNames.length, 1);
    assert.deepEqual(spec.versions[0]?.subresources, { status: {} });
    assertStructural(spec.versions[0]!.schema.openAPIV3Schema, 'openAPIV3Schema');
  });

for (const [file, schema] of Object.entries(renderJsonSchemas()))
  test(`json schema ${file}: every $ref resolves and every required field is declared`, () => {
    const defs = (schema['$defs'] ?? {}) as Record<string, S>;
    const visit = (s: S, path: string): void => {
      const r = s['$ref'];
      if (typeof r === 'string')
        assert.ok(defs[r.replace('#/$defs/', '')], `${path}: ${r} does not resolve`);
      const props = (s['properties'] as Record<string, S> | undefined) ?? {};
      for (const k of (s['required'] as string[] | undefined) ?? [])
        assert.ok(props[k], `${path}: required ${k} is not a property`);
      for (const [k, v] of Object.entries(props)) visit(v, `${path}.${k}`);
      if (s['items']) visit(s['items'] as S, `${path}[]`);
      if (typeof s['additionalProperties'] === 'object')
        visit(s['additionalProperties'] as S, `${path}.*`);
    };
    visit(schema, '#');
    for (const [name, def] of Object.entries(defs)) visit(def, `#/$defs/${name}`);
  });
