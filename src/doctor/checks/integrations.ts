import { reachable } from '../probe.js';
import { type Check, fail, pass, skip } from '../types.js';

const portOf = (url: URL) => Number(url.port || (url.protocol === 'https:' ? 443 : 80));

async function endpointReachable(name: string, value: string | undefined) {
  if (!value) return skip(`${name} is not set`);
  const url = new URL(value);
  const why = await reachable(url.hostname, portOf(url));
  return why
    ? fail(`${url.hostname}:${portOf(url)}: ${why}`)
    : pass(`${url.hostname}:${portOf(url)} accepts connections`);
}

export const sentry: Check = {
  id: 'integrations.sentry',
  checklist: 'OBS-4',
  title: 'the Sentry DSN’s host is reachable',
  fix: 'allow outgoing HTTPS to the DSN’s host (firewall, proxy, DNS) or correct SENTRY_DSN',
  run: async (context) => endpointReachable('SENTRY_DSN', context.config().sentry.dsn),
};

export const otlp: Check = {
  id: 'integrations.otlp',
  checklist: 'OBS-8',
  title: 'the OTLP collector is reachable',
  fix: 'start the collector or correct OTEL_EXPORTER_OTLP_ENDPOINT; allow the connection through the firewall',
  run: async (context) => endpointReachable('OTEL_EXPORTER_OTLP_ENDPOINT', context.config().tracing.endpoint),
};
