import type { ErrorRequestHandler, Response } from 'express';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { Logger } from '../observability/logger.js';
import { Problem } from './problem.js';

/** body-parser's error types, turned into the statuses a client can act on. */
function fromBodyParser(error: { type?: string; status?: number; limit?: number }): Problem | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return new Problem(400, 'The request body is not valid JSON.', { type: 'malformed-json' });
    case 'entity.too.large':
      return new Problem(413, `The request body is larger than the limit of ${error.limit} bytes.`, {
        type: 'body-too-large',
      });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new Problem(415, 'Send the body as UTF-8 JSON without a content encoding.', {
        type: 'unsupported-media-type',
      });
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new Problem(400, 'The request body was incomplete.', { type: 'malformed-request' });
    default:
      return undefined;
  }
}

export interface ErrorHandlerOptions {
  logger: Logger;
  /** development only: adds the message and stack of unexpected errors to the 500 body (CFG-1). */
  debug: boolean;
  /** Called for unexpected errors only (the 5xx that mean a bug), e.g. to report them to Sentry. */
  onUnexpectedError?: (error: unknown, context: { requestId: string }) => void;
}

export function sendProblem(res: Response, problem: Problem, extra: Record<string, unknown> = {}): void {
  const requestId = String(res.req.id ?? '');
  const body = {
    type: problem.type,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    instance: res.req.originalUrl.split('?')[0],
    requestId,
    ...(problem.options.errors && { errors: problem.options.errors }),
    ...extra,
  };
  res.status(problem.status).set(problem.options.headers ?? {});
  res.type('application/problem+json').send(JSON.stringify(body));
}

/**
 * The one place errors become responses (SEC-8): operational problems get their status and a clear detail;
 * anything else is logged in full and answered with a generic 500 that names no internals.
 */
export function errorHandler({ logger, debug, onUnexpectedError }: ErrorHandlerOptions): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error);
    const known =
      error instanceof Problem
        ? error
        : (fromBodyParser(error) ??
          (isDatabaseUnavailable(error)
            ? new Problem(503, 'The service cannot reach its database; retry shortly.', {
                type: 'service-unavailable',
                headers: { 'Retry-After': '5' },
              })
            : undefined));
    if (known) {
      if (known.status >= 500)
        logger.error({ err: error, requestId: req.id }, 'request failed: dependency unavailable');
      return sendProblem(res, known);
    }
    logger.error({ err: error, requestId: req.id }, 'unexpected error');
    onUnexpectedError?.(error, { requestId: String(req.id) });
    const internal = new Problem(
      500,
      'Something went wrong on our side. Quote the requestId when reporting it.',
      {
        type: 'internal-error',
      },
    );
    const debugInfo =
      debug && error instanceof Error ? { debug: { message: error.message, stack: error.stack } } : {};
    sendProblem(res, internal, debugInfo);
  };
}
