import { isKubeError, type KubeRest } from './rest.js';

/** A `coordination.k8s.io/v1` Lease as the API server sends it (times are RFC 3339 MicroTime strings). */
interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
    [k: string]: unknown;
  };
}

/** A MicroTime: RFC 3339 with microseconds, as client-go writes it. */
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');

/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's `leaderelection`: the
 * holder renews the lease every `retryPeriodMs`; a candidate takes the lease over once it has
 * seen the same holder and renew time for `leaseDurationSeconds` (measured on its own clock, so
 * clock skew between replicas does not matter). Writes use the lease's resourceVersion, so two
 * candidates never both win. A leader that cannot renew within `renewDeadlineMs` steps down.
 */
export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** This replica's identity (pod name). */
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
  onError?: (err: unknown) => void;
}

export class LeaderElector {
  private readonly path: string;
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private stopped = false;
  private lastRenew = 0;
  private observed: { holder?: string; renewTime?: string; at: number } | undefined;
  private readonly durationS: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(
    private readonly rest: KubeRest,
    private readonly options: LeaderElectionOptions,
  ) {
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(options.namespace)}/leases`;
    this.durationS = options.leaseDurationSeconds ?? 15;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.options.onError?.(err);
    }
    if (this.stopped) return;
    const now = Date.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        await this.options.onStartedLeading();
      }
    } else if (this.leading && now - this.lastRenew > this.renewDeadlineMs) {
      this.leading = false;
      await this.options.onStoppedLeading();
    }
    this.timer = setTimeout(() => void this.tick(), this.retryPeriodMs);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = microTime(Date.now());
    let lease: Lease;
    try {
      lease = await this.rest.request<Lease>('GET', `${this.path}/${encodeURIComponent(name)}`);
    } catch (err) {
      if (!isKubeError(err, 404)) throw err;
      try {
        await this.rest.request('POST', this.path, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: this.durationS,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        });
        return true;
      } catch (e) {
        if (isKubeError(e, 409)) return false;
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    const renewTime = spec.renewTime ? new Date(spec.renewTime).toISOString() : undefined;
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime)
      this.observed = { holder, renewTime, at: Date.now() };
    const expired =
      Date.now() > this.observed.at + (spec.leaseDurationSeconds ?? this.durationS) * 1000;
    if (holder && holder !== identity && !expired) return false;
    const takeover = holder !== identity;
    const body: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: this.durationS,
        renewTime: now,
        ...(takeover
          ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }
          : {}),
      },
    };
    try {
      await this.rest.request('PUT', `${this.path}/${encodeURIComponent(name)}`, body);
      return true;
    } catch (err) {
      if (isKubeError(err, 409)) return false;
      throw err;
    }
  }

  /** Stops campaigning; a leader releases the lease (empty holder) so a peer takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const path = `${this.path}/${encodeURIComponent(this.options.name)}`;
      const lease = await this.rest.request<Lease>('GET', path);
      if (lease.spec?.holderIdentity === this.options.identity)
        await this.rest.request('PUT', path, {
          ...lease,
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 },
        });
    } catch (err) {
      this.options.onError?.(err);
    }
    await this.options.onStoppedLeading();
  }
}
