import type { Request, RequestHandler, Response } from 'express';
import type { AppMetrics } from './metrics.js';

/** Every path that matched no route shares this label, so a scanner cannot create a series per URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Put on a mounted router: remembers where it is mounted while the request is inside it. Express restores
 * req.baseUrl when an error leaves the router, so by the time the response is sent it may be gone.
 */
export function rememberMountPath(): RequestHandler {
  return (req, res, next) => {
    res.locals.mountPath = req.baseUrl;
    next();
  };
}

/** The route template ('/api/v1/notes/:id'), never the raw path. */
export function routeLabel(req: Request, res: Response): string {
  // Set where a request is answered before the router, so req.route is never set (the liveness probe).
  if (typeof res.locals.routeLabel === 'string') return res.locals.routeLabel;
  const template = req.route?.path;
  if (typeof template !== 'string') {
    // A route declared with several paths (the health probes): the matched one is one of a fixed few.
    return req.route ? req.path : UNMATCHED_ROUTE;
  }
  return `${(res.locals.mountPath as string | undefined) ?? ''}${template}`;
}

/** Counts and times a response by method, route template and status (the RED metrics). */
export function recordResponse(metrics: AppMetrics, req: Request, res: Response, seconds: number): void {
  const labels = { method: req.method, route: routeLabel(req, res), status_code: String(res.statusCode) };
  metrics.httpRequests.inc(labels);
  metrics.httpDuration.observe(labels, seconds);
  if (res.statusCode === 401) metrics.authFailures.inc({ route: labels.route });
}
