import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue, parseManifests, SOURCE_KINDS, type EventSource } from '@ganglion/api';
import { REPO_ROOT } from '@ganglion/testing';

/**
 * One page per source type, `libs/eventsources/src/<type>/README.md` (indexed by
 * docs/eventsources/README.md), each with an example EventSource of its type that validates
 * (a bare `spec:` block is checked as the spec of an EventSource).
 */
describe('source docs pages: examples', () => {
  for (const type of Object.keys(SOURCE_KINDS)) {
    const page = join('libs', 'eventsources', 'src', type.toLowerCase(), 'README.md');
    it(`${page}: its example EventSource validates`, () => {
      const text = readFileSync(join(REPO_ROOT, page), 'utf8');
      const examples = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)]
        .map((m) => m[1]!)
        .filter((b) => /^kind: EventSource$/m.test(b) || b.startsWith('spec:'))
        .map((b) =>
          b.startsWith('spec:')
            ? `apiVersion: argoproj.io/v1alpha1\nkind: EventSource\nmetadata: {name: example}\n${b}`
            : b,
        );
      assert.ok(examples.length > 0, 'has an example EventSource');
      for (const example of examples) {
        const docs = parseManifests(example);
        for (const d of docs)
          assert.deepEqual(d.issues.filter((i) => i.severity === 'error').map(formatIssue), []);
        assert.ok(
          (docs[0]!.resource as EventSource).spec[type as keyof EventSource['spec']],
          `the example is a ${type} EventSource`,
        );
      }
    });
  }
  it('the index, docs/eventsources/README.md, links every page', () => {
    const index = readFileSync(join(REPO_ROOT, 'docs', 'eventsources', 'README.md'), 'utf8');
    for (const type of Object.keys(SOURCE_KINDS))
      assert.ok(
        index.includes(`(../../libs/eventsources/src/${type.toLowerCase()}/README.md)`),
        type,
      );
  });
});
