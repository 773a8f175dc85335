import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue, parseManifests, TRIGGER_TYPES, type Sensor } from '@ganglion/api';
import { REPO_ROOT } from '@ganglion/testing';
import { createTriggerRegistry, EXECUTED_TRIGGER_TYPES } from '../registry.js';
import { quietLogger } from '../fixtures/trigger.fixtures.js';

/** docs/triggers/: one page per trigger type, each with an example Sensor that validates. */
describe('docs/triggers examples', () => {
  const dir = join(REPO_ROOT, 'docs', 'triggers');
  const pages = readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md');
  const typesWithPage = new Set<string>();
  for (const page of pages) {
    it(`${page}: its example Sensor validates`, () => {
      const text = readFileSync(join(dir, page), 'utf8');
      const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
      assert.ok(blocks.length > 0, 'has an example');
      for (const block of blocks) {
        const docs = parseManifests(block);
        for (const d of docs) assert.deepEqual(d.issues.filter((i) => i.severity === 'error').map(formatIssue), []);
        const sensor = docs[0]!.resource as Sensor;
        for (const t of sensor.spec.triggers) for (const type of TRIGGER_TYPES) if (t.template[type]) typesWithPage.add(type);
      }
    });
  }
  it('every trigger type has a page, and the registry has a plugin for each', () => {
    assert.deepEqual([...typesWithPage].sort(), [...TRIGGER_TYPES].sort());
    assert.deepEqual(Object.keys(createTriggerRegistry({ logger: quietLogger })).sort(), [...TRIGGER_TYPES].sort());
    for (const t of EXECUTED_TRIGGER_TYPES) assert.ok(TRIGGER_TYPES.includes(t));
  });
});
