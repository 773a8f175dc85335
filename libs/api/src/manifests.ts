import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { validateResource, type ValidateOptions, type ValidationIssue } from './validate.js';
import type { AnyResource } from './types.js';

/**
 * The YAML parser, loaded on first use: only `npm start`'s directory mode and the CLI read YAML;
 * a service reading its resources from Kafka never does (`yaml` is ~0.3 MB of code).
 */
let yaml: typeof Yaml | undefined;
const parseAllDocuments: (typeof Yaml)['parseAllDocuments'] = (...args) =>
  (yaml ??= createRequire(import.meta.url)('yaml') as typeof Yaml).parseAllDocuments(...args);

/** One YAML document from a manifest file, validated. */
export interface ParsedDocument {
  /** Zero-based index of the document in its file. */
  index: number;
  /** The resource, when the document parsed and has no errors. */
  resource?: AnyResource;
  issues: ValidationIssue[];
}

/**
 * Parses a multi-document YAML text (`---` separated) and validates each document.
 * Empty documents are skipped; syntax errors are reported as issues of that document.
 */
export function parseManifests(text: string, options: ValidateOptions = {}): ParsedDocument[] {
  const out: ParsedDocument[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    if ('errors' in doc && doc.errors.length > 0) {
      out.push({
        index,
        issues: doc.errors.map((e) => ({
          path: '(yaml)',
          message: e.message.split('\n')[0] ?? e.message,
          severity: 'error' as const,
        })),
      });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (e) {
      out.push({
        index,
        issues: [
          {
            path: '(yaml)',
            message: (e as Error).message.split('\n')[0] ?? 'cannot be read',
            severity: 'error',
          },
        ],
      });
      return;
    }
    if (value === null || value === undefined) return;
    const issues = validateResource(value, options);
    const ok = !issues.some((i) => i.severity === 'error');
    out.push(ok ? { index, resource: value as AnyResource, issues } : { index, issues });
  });
  return out;
}

/** Strips what is not configuration (status, managed fields) so the published form is stable. */
export function normalizeResource(r: AnyResource): AnyResource {
  const { name, namespace, generation, uid, labels, annotations } = r.metadata;
  const metadata = Object.fromEntries(
    Object.entries({ name, namespace, generation, uid, labels, annotations }).filter(
      ([, v]) => v !== undefined,
    ),
  ) as unknown as AnyResource['metadata'];
  return { apiVersion: r.apiVersion, kind: r.kind, metadata, spec: r.spec } as AnyResource;
}
