import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

declare module 'http' {
  interface IncomingMessage {
    /** Set by requestId() before anything else runs, so every log line and problem can quote it. */
    id: string;
  }
}

/** Accept a caller's id only when it is short and plain, so it cannot inject into logs or headers. */
const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Gives every request an id (from nginx or the client when well-formed, else new) and echoes it back. */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const offered = req.headers['x-request-id'];
    req.id = typeof offered === 'string' && WELL_FORMED_ID.test(offered) ? offered : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    next();
  };
}
