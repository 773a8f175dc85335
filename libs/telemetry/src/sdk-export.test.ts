import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ConsoleSpanExporter } from '@opentelemetry/sdk-trace';
import { exporterFromEnv, samplerFromEnv } from './sdk-export.js';

describe('trace export from the OTEL_* environment (sdk-export.ts)', () => {
  it('picks the exporter of OTEL_TRACES_EXPORTER and the OTLP protocol', async () => {
    const cases: [Record<string, string>, unknown][] = [
      [{}, ProtoExporter],
      [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, ProtoExporter],
      [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, JsonExporter],
      [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, GrpcExporter],
      // The traces-specific variable wins over the general one.
      [
        { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' },
        JsonExporter,
      ],
      [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon' }, ProtoExporter],
      [{ OTEL_TRACES_EXPORTER: 'console' }, ConsoleSpanExporter],
    ];
    for (const [env, expected] of cases) {
      const exporter = await exporterFromEnv(env);
      try {
        assert.equal(exporter.constructor, expected, JSON.stringify(env));
      } finally {
        await exporter.shutdown();
      }
    }
  });

  it('builds the sampler of OTEL_TRACES_SAMPLER, parent-based always-on by default', () => {
    const sampler = (env: Record<string, string>) => samplerFromEnv(env).toString();
    assert.equal(
      sampler({}),
      'ParentBased{root=AlwaysOnSampler, remoteParentSampled=AlwaysOnSampler, remoteParentNotSampled=AlwaysOffSampler, localParentSampled=AlwaysOnSampler, localParentNotSampled=AlwaysOffSampler}',
    );
    assert.equal(sampler({ OTEL_TRACES_SAMPLER: 'always_off' }), 'AlwaysOffSampler');
    assert.equal(
      sampler({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }),
      'TraceIdRatioBased{0.25}',
    );
    // An out-of-range or missing ratio samples everything, as the OTel SDKs do.
    assert.equal(
      sampler({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '7' }),
      'TraceIdRatioBased{1}',
    );
    assert.match(
      sampler({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }),
      /^ParentBased\{root=TraceIdRatioBased\{0.5\}/,
    );
    assert.match(
      sampler({ OTEL_TRACES_SAMPLER: 'nonsense' }),
      /^ParentBased\{root=AlwaysOnSampler/,
    );
  });
});
