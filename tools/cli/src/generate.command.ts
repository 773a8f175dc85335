/** `ganglion generate [--root DIR]`: writes the types, JSON Schemas and CRDs derived from libs/api's schema. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generatedFiles } from '@ganglion/api';

export const GENERATE_HELP = `Usage: ganglion generate [--root DIR]

Writes the files derived from the argoproj.io/v1alpha1 schema in libs/api:
  libs/api/src/generated/types.generated.ts   TypeScript types
  libs/api/generated/*.schema.json             JSON Schemas
  deploy/crds/*.yaml                           CustomResourceDefinitions

  --root DIR   write under DIR instead of the current directory (used by check-generated.sh)
`;

export async function generateCommand(root: string, out: (line: string) => void): Promise<number> {
  for (const [path, content] of Object.entries(generatedFiles())) {
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
    out(`wrote ${path}`);
  }
  return 0;
}
