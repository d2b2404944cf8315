import type { ErrorRequestHandler, Request, Response } from 'express';
import { Problem, sendProblem } from './problem.js';

/**
 * A time budget for the request: past it the client gets 503 problem+json with Retry-After instead
 * of a hang, and the connection is freed. Node's own server.requestTimeout only bounds receiving the request;
 * this bounds the handler (a slow query, a stuck dependency) as well. The caller clears the returned timer
 * when the response closes.
 */
export function startDeadline(req: Request, res: Response, timeoutMs: number): NodeJS.Timeout {
  const timer = setTimeout(() => {
    if (res.headersSent) return;
    res.locals.deadlineExceeded = true;
    // A client still sending its body would keep the socket: close it once the answer is out.
    if (!req.complete) res.set('Connection', 'close');
    sendProblem(
      res,
      new Problem(
        'request-timeout',
        `The request took longer than ${timeoutMs} ms and was abandoned; retry shortly.`,
      ),
    );
  }, timeoutMs);
  timer.unref();
  return timer;
}

/**
 * The handler of a request that already got its 503 may still finish or fail later; its response has
 * nowhere to go, so the late error is dropped here instead of reaching Express's default handler, which
 * would destroy the socket while the 503 is still being written.
 */
export function dropLateErrors(): ErrorRequestHandler {
  return (error, _req, res, next) => {
    if (res.locals.deadlineExceeded) return;
    next(error);
  };
}
