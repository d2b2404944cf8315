import { trace } from '@opentelemetry/api';

/** For the logger's mixin: the trace and span of the request being served, in every log line. */
export function traceContext(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

let flush: (() => Promise<void>) | undefined;

/** Set by tracing.ts when it starts, so a stopping worker can export its last spans without loading the SDK. */
export function onTracingFlush(hook: () => Promise<void>): void {
  flush = hook;
}

/** Exports the spans still batched; bounded by the exporter's own timeout. */
export async function flushTracing(): Promise<void> {
  await flush?.();
}
