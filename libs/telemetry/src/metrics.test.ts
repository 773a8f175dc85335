import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GanglionMetrics } from './metrics.js';
import { AdmissionMetrics } from './admission-metrics.js';

const es = { namespace: 'argo-events', eventsource_name: 'webhook', event_name: 'example' };
const trig = { namespace: 'argo-events', sensor_name: 'webhook', trigger_name: 'http-trigger' };

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GanglionMetrics (Prometheus text, Argo names and labels)', () => {
  it('creates the series of known resources at zero and drops those of removed ones', async () => {
    const m = new GanglionMetrics({ defaultMetrics: false });
    m.setEventSources([es, { ...es, event_name: 'other' }]);
    m.setTriggers([trig]);
    let { body } = await m.render();
    assert.equal(
      value(
        body,
        'argo_events_events_sent_total{namespace="argo-events",eventsource_name="webhook",event_name="example"}',
      ),
      0,
    );
    assert.equal(
      value(
        body,
        'argo_events_events_sent_failed_total{namespace="argo-events",eventsource_name="webhook",event_name="other"}',
      ),
      0,
    );
    assert.equal(
      value(
        body,
        'argo_events_event_processing_duration_milliseconds_bucket{le="5",namespace="argo-events",eventsource_name="webhook",event_name="example"}',
      ),
      0,
    );
    assert.equal(
      value(
        body,
        'argo_events_event_service_running_total{namespace="argo-events",eventsource_name="webhook"}',
      ),
      2,
    );
    assert.equal(
      value(
        body,
        'argo_events_action_triggered_total{namespace="argo-events",sensor_name="webhook",trigger_name="http-trigger"}',
      ),
      0,
    );
    assert.equal(
      value(
        body,
        'argo_events_action_retries_failed_total{namespace="argo-events",sensor_name="webhook",trigger_name="http-trigger"}',
      ),
      0,
    );
    assert.equal(
      value(
        body,
        'ganglion_join_state_entries{namespace="argo-events",sensor_name="webhook",trigger_name="http-trigger"}',
      ),
      0,
    );
    assert.equal(value(body, 'ganglion_producer_batch_size_count{producer="events"}'), 0);

    m.setEventSources([es]);
    m.setTriggers([]);
    ({ body } = await m.render());
    assert.equal(
      value(
        body,
        'argo_events_events_sent_total{namespace="argo-events",eventsource_name="webhook",event_name="other"}',
      ),
      undefined,
    );
    assert.equal(
      value(
        body,
        'argo_events_action_triggered_total{namespace="argo-events",sensor_name="webhook",trigger_name="http-trigger"}',
      ),
      undefined,
    );
    assert.equal(
      value(
        body,
        'argo_events_event_service_running_total{namespace="argo-events",eventsource_name="webhook"}',
      ),
      1,
    );
  });

  it('counts published events and actions into counters and histogram buckets', async () => {
    const m = new GanglionMetrics({ defaultMetrics: false });
    m.setEventSources([es]);
    m.setTriggers([trig]);
    m.eventPublished(es, true, 3);
    m.eventPublished(es, false, 40);
    m.actionExecuted(trig, true, 7);
    m.actionExecuted(trig, false, 2, true);
    m.batchObserver('events')(17, 4, true);
    const { body, contentType } = await m.render();
    assert.match(contentType, /text\/plain/);
    const l = 'namespace="argo-events",eventsource_name="webhook",event_name="example"';
    assert.equal(value(body, `argo_events_events_sent_total{${l}}`), 1);
    assert.equal(value(body, `argo_events_events_sent_failed_total{${l}}`), 1);
    assert.equal(value(body, `argo_events_events_processing_failed_total{${l}}`), 1);
    assert.equal(
      value(body, `argo_events_event_processing_duration_milliseconds_bucket{le="5",${l}}`),
      1,
    );
    assert.equal(
      value(body, `argo_events_event_processing_duration_milliseconds_bucket{le="50",${l}}`),
      2,
    );
    assert.equal(value(body, `argo_events_event_processing_duration_milliseconds_count{${l}}`), 2);
    const t = 'namespace="argo-events",sensor_name="webhook",trigger_name="http-trigger"';
    assert.equal(value(body, `argo_events_action_triggered_total{${t}}`), 1);
    assert.equal(value(body, `argo_events_action_failed_total{${t}}`), 1);
    assert.equal(value(body, `argo_events_action_retries_failed_total{${t}}`), 1);
    assert.equal(value(body, `argo_events_action_duration_milliseconds_bucket{le="+Inf",${t}}`), 2);
    assert.equal(value(body, 'ganglion_producer_batch_size_bucket{le="20",producer="events"}'), 1);
    assert.equal(value(body, 'ganglion_producer_batch_size_bucket{le="10",producer="events"}'), 0);
    assert.match(body, /# TYPE argo_events_action_duration_milliseconds histogram/);
  });
});

describe('AdmissionMetrics', () => {
  it('creates every kind × verdict at zero and counts reviews, folding unknown kinds into other', async () => {
    const m = new GanglionMetrics({ defaultMetrics: false });
    const a = new AdmissionMetrics(m.registry);
    let { body } = await m.render();
    for (const kind of ['EventSource', 'Sensor', 'EventBus', 'other'])
      for (const verdict of ['allowed', 'denied'])
        assert.equal(
          value(body, `ganglion_admission_reviews_total{kind="${kind}",verdict="${verdict}"}`),
          0,
        );
    assert.equal(
      value(body, 'ganglion_admission_review_duration_milliseconds_count{kind="Sensor"}'),
      0,
    );
    assert.equal(value(body, 'ganglion_admission_bad_requests_total'), 0);
    a.reviewed('Sensor', false, 0.3);
    a.reviewed('Sensor', true, 2);
    a.reviewed('Deployment', true, 0.05);
    a.badRequests.inc();
    ({ body } = await m.render());
    assert.equal(
      value(body, 'ganglion_admission_reviews_total{kind="Sensor",verdict="denied"}'),
      1,
    );
    assert.equal(
      value(body, 'ganglion_admission_reviews_total{kind="Sensor",verdict="allowed"}'),
      1,
    );
    assert.equal(
      value(body, 'ganglion_admission_reviews_total{kind="other",verdict="allowed"}'),
      1,
    );
    assert.equal(
      value(body, 'ganglion_admission_reviews_total{kind="Deployment",verdict="allowed"}'),
      undefined,
    );
    assert.equal(
      value(body, 'ganglion_admission_review_duration_milliseconds_bucket{le="0.5",kind="Sensor"}'),
      1,
    );
    assert.equal(
      value(body, 'ganglion_admission_review_duration_milliseconds_count{kind="Sensor"}'),
      2,
    );
    assert.equal(value(body, 'ganglion_admission_bad_requests_total'), 1);
  });
});
