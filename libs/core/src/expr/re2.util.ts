/**
 * Regular expressions through RE2JS, a linear-time (RE2-class) engine, so that a hostile
 * pattern in a filter can never backtrack exponentially. Go's `regexp` (used by expr's
 * `matches`, govaluate's `=~` and sprig's `regexMatch`) is RE2 too, so syntax and the
 * unanchored "find" semantics match. Compiled patterns are cached by source.
 */
import { RE2JS } from 're2js';

const cache = new Map<string, RE2JS>();
const CACHE_LIMIT = 512;

/** Error raised for a pattern RE2 cannot compile. */
export class RegexSyntaxError extends Error {
  override name = 'RegexSyntaxError';
}

/** Compiles (or fetches from the cache) an RE2 pattern; throws {@link RegexSyntaxError}. */
export function compileRe2(pattern: string): RE2JS {
  let re = cache.get(pattern);
  if (re) return re;
  try {
    re = RE2JS.compile(pattern);
  } catch (e) {
    throw new RegexSyntaxError(`invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(pattern, re);
  return re;
}

/** True when `pattern` matches anywhere in `input` (Go `regexp.MatchString`). */
export function re2Find(pattern: string, input: string): boolean {
  return compileRe2(pattern).matcher(input).find();
}
