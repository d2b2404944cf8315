/**
 * Where each probe answers: the one list of health paths. The routes mount it, the access log turns these
 * paths down to debug and the tracer leaves them out. A leaf module: tracing reads it
 * before express, knex and pg load.
 */
export const PROBE_PATHS = {
  health: ['/health', '/healthz', '/api/health'],
  live: ['/health/live', '/livez'],
  ready: ['/health/ready', '/readyz'],
  startup: ['/health/startup', '/startupz'],
} as const;

export const HEALTH_PATHS: ReadonlySet<string> = new Set(Object.values(PROBE_PATHS).flat());

/**
 * True for a probe, from a request's path or raw URL: a query string and a trailing slash are ignored, as
 * Express's routing ignores them.
 */
export function isHealthPath(url: string): boolean {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return (
    HEALTH_PATHS.has(path) || (path.length > 1 && path.endsWith('/') && HEALTH_PATHS.has(path.slice(0, -1)))
  );
}
