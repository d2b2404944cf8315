import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';

declare module 'http' {
  interface IncomingMessage {
    /** Set by assignRequestId() before anything else runs, so every log line and problem can quote it. */
    id: string;
  }
}

/** Accept a caller's id only when it is short and plain, so it cannot inject into logs or headers. */
const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Gives the request an id (from nginx or the client when well-formed, else new) and echoes it back. */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): void {
  const offered = req.headers['x-request-id'];
  req.id = typeof offered === 'string' && WELL_FORMED_ID.test(offered) ? offered : randomUUID();
  res.setHeader('X-Request-Id', req.id);
}

/** assignRequestId as a middleware of its own, for apps built without the request envelope. */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    assignRequestId(req, res);
    next();
  };
}
