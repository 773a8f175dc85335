import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue, parseManifests, TRIGGER_TYPES, type Sensor } from '@ganglion/api';
import { REPO_ROOT } from '@ganglion/testing';
import { createTriggerRegistry, EXECUTED_TRIGGER_TYPES } from '../registry.js';
import { quietLogger } from '../fixtures/trigger.fixtures.js';

/**
 * One page per trigger type, `libs/triggers/src/<type>/README.md` (indexed by
 * docs/triggers/README.md), each with an example Sensor that validates.
 */
describe('trigger docs pages: examples', () => {
  const src = join(REPO_ROOT, 'libs', 'triggers', 'src');
  const pages = readdirSync(src, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(src, d.name, 'README.md')))
    .map((d) => join(d.name, 'README.md'));
  const typesWithPage = new Set<string>();
  it('the pages are found', () =>
    assert.ok(pages.length >= TRIGGER_TYPES.length, pages.join(', ')));
  for (const page of pages) {
    it(`${page}: its example Sensor validates`, () => {
      const text = readFileSync(join(src, page), 'utf8');
      const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
      assert.ok(blocks.length > 0, 'has an example');
      for (const block of blocks) {
        const docs = parseManifests(block);
        for (const d of docs)
          assert.deepEqual(d.issues.filter((i) => i.severity === 'error').map(formatIssue), []);
        const sensor = docs[0]!.resource as Sensor;
        for (const t of sensor.spec.triggers)
          for (const type of TRIGGER_TYPES) if (t.template[type]) typesWithPage.add(type);
      }
    });
  }
  it('the index, docs/triggers/README.md, links every page', () => {
    const index = readFileSync(join(REPO_ROOT, 'docs', 'triggers', 'README.md'), 'utf8');
    for (const page of pages) assert.ok(index.includes(`(../../libs/triggers/src/${page})`), page);
  });
  it('every trigger type has a page, and the registry has a plugin for each', () => {
    assert.deepEqual([...typesWithPage].sort(), [...TRIGGER_TYPES].sort());
    assert.deepEqual(
      Object.keys(createTriggerRegistry({ logger: quietLogger })).sort(),
      [...TRIGGER_TYPES].sort(),
    );
    for (const t of EXECUTED_TRIGGER_TYPES) assert.ok(TRIGGER_TYPES.includes(t));
  });
});
