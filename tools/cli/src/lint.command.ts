/**
 * `ganglion lint PATH... [-R] [--strict]`: offline validation of EventSource, Sensor and EventBus
 * manifests (Argo's `argo-events lint`, `cmd/commands/lint.go`).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { API_VERSION, KINDS, validateResource } from '@ganglion/api';

export const LINT_HELP = `Usage: ganglion lint PATH... [-R] [--strict]

Validates argoproj.io/v1alpha1 EventSource, Sensor and EventBus manifests offline.
PATH is a YAML file (multi-document, "---" separated) or a directory of .yaml/.yml files.

  -R, --recursive   descend into subdirectories
  --strict          treat warnings (unknown or deprecated fields) as errors
  -h, --help        show this help

Prints one line per problem: FILE:DOC: KIND/NAME: PATH: MESSAGE (DOC counts from 0),
then a summary. Exits 1 when any error is found (or any warning with --strict), 2 on usage errors.
`;

export interface LintOptions {
  recursive: boolean;
  strict: boolean;
}

async function collectFiles(
  path: string,
  recursive: boolean,
  top: boolean,
  out: string[],
): Promise<void> {
  const st = await stat(path);
  if (st.isDirectory()) {
    if (!top && !recursive) return;
    const entries = (await readdir(path)).sort();
    for (const e of entries) {
      const p = join(path, e);
      const s = await stat(p);
      if (s.isDirectory()) await collectFiles(p, recursive, false, out);
      else if (/\.ya?ml$/i.test(e)) out.push(p);
    }
  } else out.push(path);
}

export async function lintCommand(
  paths: string[],
  opts: LintOptions,
  out: (line: string) => void,
): Promise<number> {
  const files: string[] = [];
  let errors = 0;
  let warnings = 0;
  let checked = 0;
  let skipped = 0;
  for (const p of paths) {
    try {
      await collectFiles(p, opts.recursive, true, files);
    } catch (e) {
      out(`${p}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      errors++;
    }
  }
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      out(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      errors++;
      continue;
    }
    parseAllDocuments(text).forEach((doc, index) => {
      const where = `${file}:${index}`;
      if ('errors' in doc && doc.errors.length > 0) {
        for (const e of doc.errors) out(`${where}: (yaml): ${e.message.split('\n')[0]}`);
        errors += doc.errors.length;
        return;
      }
      let value: unknown;
      try {
        value = doc.toJS();
      } catch (e) {
        out(`${where}: (yaml): ${(e as Error).message.split('\n')[0]}`);
        errors++;
        return;
      }
      if (value === null || value === undefined) return;
      const v = value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
      const isArgo =
        typeof v === 'object' &&
        (v.apiVersion === API_VERSION || String(v.apiVersion ?? '').startsWith('argoproj.io/'));
      if (!isArgo || !KINDS.includes(v.kind as never)) {
        if (!(
          isArgo &&
          typeof v.kind === 'string' &&
          /^(EventSource|Sensor|EventBus)$/.test(v.kind)
        )) {
          out(
            `${where}: note: skipped ${typeof v.kind === 'string' ? v.kind : 'document'} (${String(v.apiVersion ?? 'no apiVersion')}): not an Argo Events resource`,
          );
          skipped++;
          return;
        }
      }
      checked++;
      const label = `${String(v.kind)}/${typeof v.metadata?.name === 'string' ? v.metadata.name : '?'}`;
      for (const issue of validateResource(value, { strict: opts.strict })) {
        if (issue.severity === 'error') errors++;
        else warnings++;
        out(
          `${where}: ${label}: ${issue.path}: ${issue.severity === 'warning' ? 'warning: ' : ''}${issue.message}`,
        );
      }
    });
  }
  out(
    `${files.length} file(s), ${checked} resource(s) checked, ${skipped} skipped: ${errors} error(s), ${warnings} warning(s)`,
  );
  return errors > 0 || (opts.strict && warnings > 0) ? 1 : 0;
}
