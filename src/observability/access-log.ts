import type { Request, Response } from 'express';
import type { Logger } from './logger.js';

/**
 * One compact JSON line per request: its id, method, URL, status, duration and user, written when the
 * response is done. No header dumps, nothing that could hold a credential, and no child logger per
 * request: a line costs one object and one write, and a request that logs nothing costs a level check.
 * Paths `isQuiet` names (the probes, which arrive every few seconds from every balancer) log at debug, so they do
 * not drown real traffic; any 5xx logs at error.
 */
export function logAccess(
  logger: Logger,
  isQuiet: (path: string) => boolean,
  req: Request,
  res: Response,
  durationMs: number,
): void {
  const level = res.statusCode >= 500 ? 'error' : isQuiet(req.path) ? 'debug' : 'info';
  if (!logger.isLevelEnabled(level)) return;
  logger[level](
    {
      requestId: req.id,
      // The client's address as the trusted proxy reports it (TRUST_PROXY), for abuse investigations. It is
      // personal data: the log retention (journald 30 days, docs/deploy-vps.md) belongs in the privacy notice.
      req: { method: req.method, url: req.originalUrl, remoteAddress: req.ip },
      res: { statusCode: res.statusCode },
      responseTime: Math.round(durationMs),
      userId: (res.locals.auth as { user: { id: string } } | undefined)?.user.id,
    },
    res.writableFinished ? 'request completed' : 'request aborted',
  );
}
