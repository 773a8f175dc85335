import type { GithubEventSource } from '@ganglion/api';

/** The repositories of a source, including the deprecated `owner`/`repository` pair. */
export function githubRepositories(config: GithubEventSource): { owner: string; name: string }[] {
  const out: { owner: string; name: string }[] = [];
  for (const r of config.repositories ?? [])
    for (const name of r.names) out.push({ owner: r.owner, name });
  if (config.owner && config.repository) out.push({ owner: config.owner, name: config.repository });
  return out;
}
