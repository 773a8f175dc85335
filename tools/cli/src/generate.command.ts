/**
 * `ganglion generate [--root DIR]`: writes the files derived from libs/api: the types, JSON
 * Schemas and CRDs of its schema, and the service package and chart of every source type in its
 * `SOURCE_KINDS` (see ingress.generate.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generatedFiles } from '@ganglion/api';
import { ingressFiles } from './ingress.generate.js';

export const GENERATE_HELP = `Usage: ganglion generate [--root DIR]

Writes the files derived from libs/api. From the argoproj.io/v1alpha1 schema (libs/api/src/schema):
  libs/api/src/generated/types.generated.ts   TypeScript types
  libs/api/generated/*.schema.json             JSON Schemas
  deploy/crds/*.yaml                           CustomResourceDefinitions
From SOURCE_KINDS (libs/api/src/eventsources/source-kinds.ts), for each source type <type> (lower case):
  services/ingress-<type>/package.json         the type's service package, a one-line shell
  services/ingress-<type>/tsconfig.json        over libs/nest's ingress bootstrap for the
  services/ingress-<type>/src/main.ts          type's kind (push or owned)
  charts/ingress-<type>/Chart.yaml             the type's Helm chart (over charts/ganglion-common)
  charts/ingress-<type>/values.yaml
  charts/ingress-<type>/templates/ingress-<type>.yaml
and, listing every type:
  charts/ganglion/Chart.yaml, values.yaml      the umbrella chart installing every service
  charts/ganglion/crds/*.yaml                  with the CRDs (Helm installs them first, never deletes them)
  tsconfig.ingress.json                        the build's references to the service packages
  deploy/rbac/{namespaced,cluster}/ingress.yaml  one ServiceAccount per ingress service, its chart's grant

Run from the repository root (npm run ganglion -- generate), then npm run build (which also
links a new package with pnpm). scripts/check-generated.sh fails when a committed file differs,
or when a services/ingress-* or charts/ingress-* folder holds anything not generated here.

  --root DIR   write under DIR instead of the current directory (used by check-generated.sh)
`;

/** Every generated file: repository-relative path to content. */
const allGeneratedFiles = (): Record<string, string> => {
  const api = generatedFiles();
  const files = { ...api, ...ingressFiles() };
  // The umbrella chart carries the CRDs: `helm install` creates them before the services, and
  // `helm uninstall` keeps them (and so the users' EventSources, Sensors and EventBuses).
  for (const [path, content] of Object.entries(api))
    if (path.startsWith('deploy/crds/'))
      files[`charts/ganglion/crds/${path.slice('deploy/crds/'.length)}`] = content;
  return files;
};

export async function generateCommand(root: string, out: (line: string) => void): Promise<number> {
  for (const [path, content] of Object.entries(allGeneratedFiles())) {
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
    out(`wrote ${path}`);
  }
  return 0;
}
