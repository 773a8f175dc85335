import { formatIssue, type ValidationIssue, type Kind } from '@ganglion/api';
import type { DesiredCondition } from '@ganglion/k8s';

const MAX_MESSAGE = 1000;

function describe(issues: readonly ValidationIssue[]): string {
  const text = issues.map(formatIssue).join('; ');
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}

const under = (path: string, prefix: string): boolean =>
  path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);

/**
 * The spec conditions for a kind from its validation errors: each names the failing field paths
 * in its message (e.g. `spec.triggers[0].template.http.url: is required`), with Argo's reasons
 * (`InvalidEventSource`, `InvalidDependencies`, `InvalidTriggers`, `InvalidSpec`). Argo sets no
 * reason on True conditions; Ganglion always names one, so `kubectl get -o yaml` explains every state.
 */
export function specConditions(kind: Kind, errors: readonly ValidationIssue[]): DesiredCondition[] {
  switch (kind) {
    case 'EventBus':
      return [
        errors.length
          ? {
              type: 'Configured',
              status: 'False',
              reason: 'InvalidSpec',
              message: describe(errors),
            }
          : { type: 'Configured', status: 'True', reason: 'Valid' },
      ];
    case 'EventSource':
      return [
        errors.length
          ? {
              type: 'SourcesProvided',
              status: 'False',
              reason: 'InvalidEventSource',
              message: describe(errors),
            }
          : { type: 'SourcesProvided', status: 'True', reason: 'Valid' },
      ];
    case 'Sensor': {
      const deps = errors.filter((e) => under(e.path, 'spec.dependencies'));
      const triggers = errors.filter((e) => under(e.path, 'spec.triggers'));
      const other = errors.filter((e) => !deps.includes(e) && !triggers.includes(e));
      return [
        deps.length
          ? {
              type: 'DependenciesProvided',
              status: 'False',
              reason: 'InvalidDependencies',
              message: describe(deps),
            }
          : { type: 'DependenciesProvided', status: 'True', reason: 'Valid' },
        triggers.length || other.length
          ? {
              type: 'TriggersProvided',
              status: 'False',
              reason: 'InvalidTriggers',
              message: describe([...triggers, ...other]),
            }
          : { type: 'TriggersProvided', status: 'True', reason: 'Valid' },
      ];
    }
  }
}

export function deployed(
  status: 'True' | 'False',
  reason: string,
  message: string,
): DesiredCondition {
  return { type: 'Deployed', status, reason, message };
}
