import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
// pino-http types req.id (the id it logs) for the whole program.
import type {} from 'pino-http';

/** Accept a caller's id only when it is short and plain, so it cannot inject into logs or headers. */
const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Gives the request an id (from nginx or the client when well-formed, else new) and echoes it back. */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): void {
  const offered = req.headers['x-request-id'];
  // req.id (typed by pino-http, which logs it) is set here before anything else runs, so every log line and
  // problem can quote it.
  const id = typeof offered === 'string' && WELL_FORMED_ID.test(offered) ? offered : randomUUID();
  req.id = id;
  res.setHeader('X-Request-Id', id);
}

/** assignRequestId as a middleware of its own, for apps built without the request envelope. */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    assignRequestId(req, res);
    next();
  };
}
