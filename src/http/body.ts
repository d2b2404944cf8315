import express, { type Request, type RequestHandler } from 'express';
import { Problem } from './problem.js';

const JSON_TYPES = ['application/json', 'application/*+json'];

function carriesBody(headers: Record<string, string | string[] | undefined>): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = Number(headers['content-length'] ?? 0);
  return Number.isFinite(length) && length > 0;
}

/**
 * JSON bodies only, up to the limit. A body of another type is refused with 415 before it is read;
 * the parser rejects malformed JSON (400) and oversized bodies (413) without buffering past the limit. One
 * middleware, and a request without a body (every GET) leaves it at once.
 */
export function jsonBody(
  limitBytes: number,
  readsOwnBody: (req: Request) => boolean = () => false,
): RequestHandler {
  const parse = express.json({ limit: limitBytes, strict: true, type: JSON_TYPES });
  return (req, res, next) => {
    if (!carriesBody(req.headers) || readsOwnBody(req)) return next();
    if (!req.is(JSON_TYPES)) {
      return next(
        new Problem('unsupported-media-type', "Send the body as JSON with 'Content-Type: application/json'."),
      );
    }
    parse(req, res, next);
  };
}
