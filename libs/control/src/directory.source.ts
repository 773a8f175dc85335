import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  formatIssue,
  keyOf,
  normalizeResource,
  parseManifests,
  type AnyResource,
} from '@ganglion/api';

/** One problem found while loading a directory, with its file and document. */
interface LoadProblem {
  file: string;
  document: number;
  message: string;
  severity: 'error' | 'warning';
}

export interface DirectoryContents {
  resources: Map<string, AnyResource>;
  problems: LoadProblem[];
  /** Keys whose file has an invalid document: the last good version is kept, not deleted. */
  files: string[];
}

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await yamlFiles(path)));
    else if (/\.ya?ml$/i.test(entry.name)) out.push(path);
  }
  return out.sort();
}

/**
 * Loads every EventSource/Sensor/EventBus manifest under `dir` (recursively, `.yaml`/`.yml`,
 * multi-document), validated; invalid documents are reported with file, document and field path.
 */
export async function loadDirectory(dir: string): Promise<DirectoryContents> {
  if (!(await stat(dir)).isDirectory()) throw new Error(`${dir} is not a directory`);
  const resources = new Map<string, AnyResource>();
  const problems: LoadProblem[] = [];
  const files = await yamlFiles(dir);
  for (const file of files) {
    const rel = relative(dir, file);
    for (const doc of parseManifests(await readFile(file, 'utf8'))) {
      for (const issue of doc.issues)
        problems.push({
          file: rel,
          document: doc.index,
          message: formatIssue(issue),
          severity: issue.severity,
        });
      if (!doc.resource) continue;
      const r = normalizeResource(doc.resource);
      const key = keyOf(r);
      if (resources.has(key)) {
        problems.push({
          file: rel,
          document: doc.index,
          message: `${key} is defined more than once; the later definition wins`,
          severity: 'warning',
        });
      }
      resources.set(key, r);
    }
  }
  return { resources, problems, files: files.map((f) => relative(dir, f)) };
}
