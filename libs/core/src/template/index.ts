/**
 * Go text/template engine with sprig functions, as Argo Events uses for `dataTemplate`,
 * `contextTemplate` and data-filter `template` (input `.Input`). See docs/templates.md.
 */
import { executeTemplate, type ExecuteOptions } from './template.executor.js';
import { parseTemplate, type ParsedTemplate } from './template.parser.js';

export { parseTemplate, TemplateError } from './template.parser.js';
export { type ExecuteOptions } from './template.executor.js';
export { compileRegex } from './template.functions.js';

const cache = new Map<string, ParsedTemplate>();

/** Parses (once, cached by source) and executes a template. */
export function renderTemplate(source: string, data: unknown, opts: ExecuteOptions = {}): string {
  let t = cache.get(source);
  if (!t) {
    t = parseTemplate(source);
    if (cache.size >= 500) cache.clear();
    cache.set(source, t);
  }
  return executeTemplate(t, data, opts);
}

/** Renders a template the way Argo does: the value is available as `.Input`. */
export function renderInputTemplate(
  source: string,
  input: unknown,
  opts: ExecuteOptions = {},
): string {
  return renderTemplate(source, { Input: input }, opts);
}
