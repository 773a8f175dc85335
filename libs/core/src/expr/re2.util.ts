/**
 * Regular expressions through RE2JS, a linear-time (RE2-class) engine, so that a hostile
 * pattern in a filter can never backtrack exponentially. Go's `regexp` (used by expr's
 * `matches`, govaluate's `=~` and sprig's `regexMatch`) is RE2 too, so syntax and the
 * unanchored "find" semantics match. The one regex grammar is libs/api's `parseRegex`, which
 * admission uses too; compiled patterns are cached by source.
 */
import { parseRegex } from '@ganglion/api';
import type { RE2JS } from 're2js';

const cache = new Map<string, RE2JS>();
const CACHE_LIMIT = 512;

/** Compiles (or fetches from the cache) an RE2 pattern; throws libs/api's `RegexSyntaxError`. */
export function compileRe2(pattern: string): RE2JS {
  let re = cache.get(pattern);
  if (re) return re;
  re = parseRegex(pattern);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(pattern, re);
  return re;
}

/** True when `pattern` matches anywhere in `input` (Go `regexp.MatchString`). */
export function re2Find(pattern: string, input: string): boolean {
  return compileRe2(pattern).matcher(input).find();
}
