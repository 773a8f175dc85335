import {
  eventBusTopic,
  keyOf,
  SOURCE_KINDS,
  type AnyResource,
  type EventBus,
  type EventSource,
} from '@ganglion/api';
import { busTopics } from '@ganglion/eventbus';

/**
 * What a resource holds exclusively, so that two tenants never meet: a push EventSource's
 * routes (`<type> :<port><endpoint>`: one ingress service per type serves every EventSource of
 * that type on shared ports) and an EventBus's topics (`<cluster> <topic>`, every topic of the
 * bus: `P`, `P-joins`, `P-actions`, ...). A claim names its owner's part (event or topic) for
 * the condition's message.
 */
interface Claim {
  key: string;
  what: string;
}

/** The routes of a push EventSource: one per configured event. */
function routeClaims(es: EventSource): Claim[] {
  const claims: Claim[] = [];
  const spec = es.spec as Record<string, unknown>;
  for (const [type, kind] of Object.entries(SOURCE_KINDS)) {
    if (kind !== 'push') continue;
    const events = spec[type] as Record<string, unknown> | undefined;
    for (const [event, cfg] of Object.entries(events ?? {})) {
      const wh = (type === 'webhook' ? cfg : (cfg as { webhook?: unknown })?.webhook) as
        { port?: unknown; endpoint?: unknown } | undefined;
      if (!wh || wh.port === undefined || typeof wh.endpoint !== 'string') continue;
      const route = `${type} port ${String(wh.port)} endpoint ${wh.endpoint}`;
      claims.push({
        key: `${type} :${String(wh.port)}${wh.endpoint}`,
        what: `${route} (event ${event})`,
      });
    }
  }
  return claims;
}

/** The topics of an EventBus on its cluster (`spec.kafka.url`, else the installation's). */
function topicClaims(bus: EventBus): Claim[] {
  const cluster = (bus.spec.kafka?.url ?? '')
    .split(',')
    .map((b) => b.trim())
    .sort()
    .join(',');
  return Object.values(busTopics(eventBusTopic(bus))).map((topic) => ({
    key: `${cluster} ${topic}`,
    what: `topic ${topic}`,
  }));
}

function claimsOf(r: AnyResource): Claim[] {
  if (r.kind === 'EventSource') return routeClaims(r);
  if (r.kind === 'EventBus') return topicClaims(r);
  return [];
}

/**
 * Why `r` may not be deployed: a claim of it that a resource in `holders` (the published ones
 * of the same kind) already holds, e.g. `webhook port 12000 endpoint /hook (event a) is already
 * served for EventSource team-b/hooks (event b)`; undefined when none collides. The holder keeps
 * what it has (first published wins): a newcomer cannot take another tenant's route or topics.
 */
export function claimConflict(r: AnyResource, holders: Iterable<AnyResource>): string | undefined {
  const mine = claimsOf(r);
  if (mine.length === 0) return undefined;
  const self = keyOf(r);
  for (const other of holders) {
    if (other.kind !== r.kind || keyOf(other) === self) continue;
    const theirs = new Map(claimsOf(other).map((c) => [c.key, c.what]));
    for (const c of mine) {
      const held = theirs.get(c.key);
      if (held !== undefined)
        return r.kind === 'EventSource'
          ? `${c.what} is already served for EventSource ${keyOf(other).slice('EventSource/'.length)} (${held.replace(/^.*\((event [^)]*)\)$/, '$1')})`
          : `${c.what} is already used by EventBus ${keyOf(other).slice('EventBus/'.length)}`;
    }
  }
  return undefined;
}
