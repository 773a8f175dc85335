import { Counter, Histogram, type Registry } from 'prom-client';

/** The kinds the admission webhook validates; anything else is counted as `other`. */
const ADMISSION_KINDS = ['EventSource', 'Sensor', 'EventBus', 'other'] as const;
const ADMISSION_VERDICTS = ['allowed', 'denied'] as const;
/** Reviews are in-memory validations: sub-millisecond buckets up to the API server's 10 s timeout. */
const ADMISSION_DURATION_BUCKETS_MS = [
  0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000, 10_000,
];

/**
 * Prometheus series of the admission webhook (Argo's webhook has no metrics, so these are
 * `ganglion_admission_*`). Every kind × verdict combination exists from start-up at zero.
 */
export class AdmissionMetrics {
  readonly reviews: Counter<'kind' | 'verdict'>;
  readonly reviewDuration: Histogram<'kind'>;
  readonly badRequests: Counter<never>;

  constructor(registry: Registry) {
    this.reviews = new Counter({
      name: 'ganglion_admission_reviews_total',
      help: 'AdmissionReviews answered, by the kind of the object and the verdict (allowed or denied)',
      labelNames: ['kind', 'verdict'],
      registers: [registry],
    });
    this.reviewDuration = new Histogram({
      name: 'ganglion_admission_review_duration_milliseconds',
      help: 'Time from receiving an AdmissionReview request to sending its response (ms)',
      labelNames: ['kind'],
      buckets: ADMISSION_DURATION_BUCKETS_MS,
      registers: [registry],
    });
    this.badRequests = new Counter({
      name: 'ganglion_admission_bad_requests_total',
      help: 'Requests to /validate that were not an admission.k8s.io/v1 AdmissionReview (answered 400)',
      registers: [registry],
    });
    for (const kind of ADMISSION_KINDS) {
      this.reviewDuration.zero({ kind });
      for (const verdict of ADMISSION_VERDICTS) this.reviews.inc({ kind, verdict }, 0);
    }
    this.badRequests.inc(0);
  }

  /** Records one answered review of an object of `kind` (an argoproj.io kind or anything else). */
  reviewed(kind: string, allowed: boolean, ms: number): void {
    const k = (ADMISSION_KINDS as readonly string[]).includes(kind) ? kind : 'other';
    this.reviews.inc({ kind: k, verdict: allowed ? 'allowed' : 'denied' });
    this.reviewDuration.observe({ kind: k }, ms);
  }
}
