/**
 * Regular expressions (Go's `regexp`, RE2 syntax: https://github.com/google/re2/wiki/Syntax)
 * through RE2JS, a linear-time engine, so that a hostile pattern can never backtrack
 * exponentially and `(?i)`, `\pL`, `[[:alpha:]]` mean what they mean in Argo.
 *
 * The one regex grammar: validation (data filter values, `checkRegex`) and the runtime (data
 * filters, expr `matches`, govaluate `=~`, sprig `regexMatch`, file and resource sources) all
 * compile through {@link parseRegex}.
 */
import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';

/** re2js (~0.25 MB of code) loads on the first pattern compiled, not with every service. */
let engine: typeof RE2JS | undefined;
function re2(): typeof RE2JS {
  return (engine ??= (createRequire(import.meta.url)('re2js') as { RE2JS: typeof RE2JS }).RE2JS);
}

/** Error raised for a pattern RE2 cannot compile. */
export class RegexSyntaxError extends Error {
  override name = 'RegexSyntaxError';
}

/** Compiles an RE2 pattern; throws {@link RegexSyntaxError} naming the pattern. */
export function parseRegex(pattern: string): RE2JS {
  try {
    return re2().compile(pattern);
  } catch (e) {
    throw new RegexSyntaxError(
      `invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`,
    );
  }
}
