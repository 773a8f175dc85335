import { ApiException, CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';

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

const isCode = (err: unknown, code: number): boolean => err instanceof ApiException && err.code === code;

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private stopped = false;
  private lastRenew = 0;
  private observed: { holder?: string; renewTime?: string; at: number } | undefined;
  private readonly durationS: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(
    kc: KubeConfig,
    private readonly options: LeaderElectionOptions,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
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
    const now = new V1MicroTime(Date.now());
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (!isCode(err, 404)) throw err;
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: { holderIdentity: identity, leaseDurationSeconds: this.durationS, acquireTime: now, renewTime: now, leaseTransitions: 0 } },
        });
        return true;
      } catch (e) {
        if (isCode(e, 409)) return false;
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    const renewTime = spec.renewTime ? new Date(spec.renewTime).toISOString() : undefined;
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) this.observed = { holder, renewTime, at: Date.now() };
    const expired = Date.now() > this.observed.at + (spec.leaseDurationSeconds ?? this.durationS) * 1000;
    if (holder && holder !== identity && !expired) return false;
    const takeover = holder !== identity;
    const body: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: this.durationS,
        renewTime: now,
        ...(takeover ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
      },
    };
    try {
      await this.api.replaceNamespacedLease({ namespace, name, body });
      return true;
    } catch (err) {
      if (isCode(err, 409)) return false;
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
      const lease = await this.api.readNamespacedLease({ namespace: this.options.namespace, name: this.options.name });
      if (lease.spec?.holderIdentity === this.options.identity)
        await this.api.replaceNamespacedLease({
          namespace: this.options.namespace,
          name: this.options.name,
          body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
        });
    } catch (err) {
      this.options.onError?.(err);
    }
    await this.options.onStoppedLeading();
  }
}
