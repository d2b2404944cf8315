import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KnexInstrumentation } from '@opentelemetry/instrumentation-knex';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { isHealthPath } from '../health/paths.js';
import { onTracingFlush } from './trace-context.js';

export interface TracingSettings {
  /** OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT); traces go to <endpoint>/v1/traces. */
  endpoint: string | undefined;
  serviceName: string;
  version: string;
  environment: string;
}

let provider: TracerProvider | undefined;

/**
 * Distributed tracing: HTTP server, Express, knex and pg spans exported over OTLP/HTTP, only when
 * an endpoint is configured. Must run before express, knex and pg are first required: the instrumentations
 * patch them as they load. This process owns the tracer provider; Sentry is told not to register one.
 * Required by src/instrument.ts only when an endpoint is set: the SDK is slow to load and every worker start
 * would pay for it.
 */
export function startTracing(settings: TracingSettings): boolean {
  if (!settings.endpoint || provider) return provider !== undefined;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': settings.serviceName,
      'service.version': settings.version,
      'deployment.environment.name': settings.environment,
    }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${settings.endpoint.replace(/\/$/, '')}/v1/traces` }),
        scheduledDelayMillis: 1_000,
      }),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  const started = provider;
  onTracingFlush(() => started.shutdown());
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // The probes are polled every few seconds; a span each would drown the real traffic.
        ignoreIncomingRequestHook: (req) => isHealthPath(req.url ?? ''),
      }),
      new ExpressInstrumentation(),
      new KnexInstrumentation(),
      new PgInstrumentation(),
    ],
  });
  return true;
}
