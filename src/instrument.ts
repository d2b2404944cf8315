/**
 * Loaded before the app with `node --import ./dist/instrument.js dist/main.js` (and imported first by main.ts
 * as a fallback), because OpenTelemetry and Sentry patch http, express, knex and pg as they are first
 * required. Does nothing unless OTEL_EXPORTER_OTLP_ENDPOINT or SENTRY_DSN is set. Being first, it is what
 * refuses a bad configuration (exit 78, every problem listed).
 */
import { loadConfigOrExit } from './config/index.js';
import { initSentry } from './observability/sentry.js';
import { version } from './version.js';

const config = loadConfigOrExit();
// The provider first, then Sentry, as Sentry's guide to running its SDK beside your own OpenTelemetry asks.
if (config.tracing.endpoint) {
  const { startTracing } =
    require('./observability/tracing.js') as typeof import('./observability/tracing.js');
  startTracing({
    endpoint: config.tracing.endpoint,
    serviceName: config.tracing.serviceName,
    version,
    environment: config.appEnv,
  });
}
initSentry({
  dsn: config.sentry.dsn,
  environment: config.appEnv,
  release: config.sentry.release ?? `shipshape@${version}`,
});
