import type { ErrorRequestHandler, Request } from 'express';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { Logger } from '../observability/logger.js';
import { FileStoreUnavailable } from '../storage/files.js';
import { Problem, type ProblemType, sendProblem } from './problem.js';

interface LibraryError {
  type?: unknown;
  status?: unknown;
  statusCode?: unknown;
  limit?: unknown;
}

/** body-parser's error types, turned into the statuses a client can act on. */
function fromBodyParser(error: LibraryError): Problem | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return new Problem('malformed-json', 'The request body is not valid JSON.');
    case 'entity.too.large':
      return new Problem(
        'body-too-large',
        `The request body is larger than the limit of ${error.limit} bytes.`,
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new Problem(
        'unsupported-media-type',
        'Send the body as UTF-8 JSON, with no Content-Encoding or with gzip, deflate or br.',
      );
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new Problem('malformed-request', 'The request body was incomplete.');
    default:
      return undefined;
  }
}

/** The kind for a 4xx status a library gave its error; a status with no kind of its own is a bad request. */
const KIND_OF_STATUS: Record<number, ProblemType> = {
  404: 'not-found',
  405: 'method-not-allowed',
  408: 'request-incomplete',
  413: 'body-too-large',
  415: 'unsupported-media-type',
  417: 'expectation-failed',
  431: 'headers-too-large',
};

/**
 * A client's fault raised by Express, its router, the body parser or another library: it carries a 4xx
 * status, or it is a URI that does not decode. Such an error is the client's to fix, never a 500.
 */
function fromClientFault(error: unknown, req: Request): Problem | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const known = fromBodyParser(error as LibraryError);
  if (known) return known;
  if (error instanceof URIError) {
    return new Problem('malformed-request', 'The URL has malformed percent-encoding.');
  }
  const { status, statusCode } = error as LibraryError;
  const code = typeof status === 'number' ? status : statusCode;
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 400 || code > 499) return undefined;
  const kind = KIND_OF_STATUS[code];
  if (kind) return new Problem(kind, 'The request was refused as malformed.');
  const encoding = req.headers['content-encoding'];
  return new Problem(
    'malformed-request',
    encoding && encoding !== 'identity'
      ? `The request body could not be read as ${encoding}: it does not match its Content-Encoding.`
      : 'The request could not be read.',
  );
}

/** A dependency that is down or overloaded for now (the database, the file store): the client should retry. */
function fromUnavailableDependency(error: unknown): Problem | undefined {
  if (error instanceof FileStoreUnavailable)
    return new Problem('service-unavailable', 'The service cannot reach its file store; retry shortly.');
  if (isDatabaseUnavailable(error))
    return new Problem('service-unavailable', 'The service cannot reach its database; retry shortly.');
  return undefined;
}

export interface ErrorHandlerOptions {
  logger: Logger;
  /** development only: adds the message and stack of unexpected errors to the 500 body. */
  debug: boolean;
  /** Called for unexpected errors only (the 5xx that mean a bug), e.g. to report them to Sentry. */
  onUnexpectedError?: (error: unknown, context: { requestId: string }) => void;
}

/**
 * The one place errors become responses: operational problems and clients' faults get their status
 * and a clear detail; anything else is logged in full and answered with a generic 500 that names no internals.
 */
export function errorHandler({ logger, debug, onUnexpectedError }: ErrorHandlerOptions): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error);
    const known =
      error instanceof Problem ? error : (fromClientFault(error, req) ?? fromUnavailableDependency(error));
    if (known) {
      if (known.status >= 500)
        logger.error({ err: error, requestId: req.id }, 'request failed: dependency unavailable');
      return sendProblem(res, known);
    }
    logger.error({ err: error, requestId: req.id }, 'unexpected error');
    onUnexpectedError?.(error, { requestId: String(req.id) });
    const internal = new Problem(
      'internal-error',
      'Something went wrong on our side. Quote the requestId when reporting it.',
    );
    const debugInfo =
      debug && error instanceof Error ? { debug: { message: error.message, stack: error.stack } } : {};
    sendProblem(res, internal, debugInfo);
  };
}
