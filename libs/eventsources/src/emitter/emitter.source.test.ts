import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { emitterTopic } from './emitter.source.js';

describe('emitter source: channel topic', () => {
  it("is <key>/<channel>/ with slashes trimmed, as emitter's clients build it", () => {
    assert.equal(emitterTopic('KEY', 'a/b'), 'KEY/a/b/');
    assert.equal(emitterTopic('/KEY/', '/a/b/'), 'KEY/a/b/');
  });
});
