import type { RequestHandler } from 'express';
import { logAccess } from '../observability/access-log.js';
import { recordResponse } from '../observability/http-metrics.js';
import type { Logger } from '../observability/logger.js';
import type { AppMetrics } from '../observability/metrics.js';
import { startDeadline } from './request-deadline.js';
import { assignRequestId } from './request-id.js';
import type { ApplySecurityHeaders } from './security.js';

export interface EnvelopeOptions {
  logger: Logger;
  /** Paths whose access lines are debug, not info (the health probes). */
  isQuiet(path: string): boolean;
  metrics?: AppMetrics | undefined;
  applySecurityHeaders: ApplySecurityHeaders;
  requestTimeoutMs: number;
}

/**
 * What every request gets, in order, before any route runs: an id (echoed back), the security headers and
 * a deadline; and when its response closes: the metrics and the access line. One middleware rather than one
 * per concern, with one 'close' listener rather than one each: every router layer and listener is paid on
 * every request, including the probes (docs/performance.md, change 5).
 */
export function requestEnvelope(options: EnvelopeOptions): RequestHandler {
  const { logger, isQuiet, metrics, applySecurityHeaders, requestTimeoutMs } = options;
  return (req, res, next) => {
    const started = performance.now();
    assignRequestId(req, res);
    applySecurityHeaders(res);
    const deadline = startDeadline(req, res, requestTimeoutMs);
    res.on('close', () => {
      clearTimeout(deadline);
      const durationMs = performance.now() - started;
      // A response cut off before it was sent is not a response: the access log says "aborted", metrics skip it.
      if (metrics && res.writableFinished) recordResponse(metrics, req, res, durationMs / 1000);
      logAccess(logger, isQuiet, req, res, durationMs);
    });
    next();
  };
}
