import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from './logger.js';

type LevelName = 'debug' | 'info' | 'error';

/** What the line says of the request: no headers, nothing that could hold a credential (OBS-2). */
const requestFields = (req: IncomingMessage) => {
  const request = req as Request;
  return {
    method: request.method,
    url: request.originalUrl,
    // The client's address as the trusted proxy reports it (TRUST_PROXY), for abuse investigations. It is
    // personal data: the log retention (journald 30 days, docs/deploy-vps.md) belongs in the privacy notice.
    remoteAddress: request.ip,
  };
};

const responseFields = (res: ServerResponse) => ({ statusCode: res.statusCode });

/**
 * One compact JSON line per request through pino-http (OBS-1): its id (the one the request envelope already
 * accepted or generated), method, URL, status, duration and user, written when the response is done.
 * Custom serializers keep headers out; paths in `quiet` (the probes, which arrive every few seconds from every
 * balancer) log at debug, so they do not drown real traffic (OBS-3); any 5xx logs at error. Returns the
 * middleware without `next`, for the envelope to call inline (one router layer for everything per request).
 */
export function accessLogger(logger: Logger, quiet: ReadonlySet<string>) {
  const line = (req: IncomingMessage, res: ServerResponse, fields: { responseTime: number }) => ({
    requestId: req.id,
    res,
    responseTime: fields.responseTime,
    userId: ((res as Response).locals.auth as { user: { id: string } } | undefined)?.user.id,
  });
  const message = (_req: IncomingMessage, res: ServerResponse) =>
    res.writableFinished ? 'request completed' : 'request aborted';
  const middleware = pinoHttp({
    logger,
    // The id is assigned before this runs; pino-http only carries it.
    genReqId: (req) => req.id,
    wrapSerializers: false,
    serializers: { req: requestFields, res: responseFields },
    customLogLevel: (req, res): LevelName =>
      res.statusCode >= 500 ? 'error' : quiet.has((req as Request).path) ? 'debug' : 'info',
    customSuccessObject: line,
    customErrorObject: (req, res, _error, fields) => line(req, res, fields),
    customSuccessMessage: message,
    customErrorMessage: message,
  });
  return (req: IncomingMessage, res: ServerResponse) => middleware(req, res);
}
