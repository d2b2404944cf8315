import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express, Request, RequestHandler, Response } from 'express';
import { PROBE_PATHS } from '../health/paths.js';

const LIVE_PATHS: ReadonlySet<string> = new Set(PROBE_PATHS.live);

type Handle = (req: Request, res: Response, next?: (error?: unknown) => void) => void;

export interface FrontDoorOptions {
  /** The request envelope: the only middleware in front of the health routes. */
  envelope: RequestHandler;
  /** The liveness probe's answer, the same handler its route uses. */
  answerLive: RequestHandler;
}

/**
 * Gives req and res every own property that Express, the router and the middleware add to them, in one fixed
 * order, before Express swaps their prototypes. On Node 20, each property added to an object after its
 * prototype was swapped costs far more than a store to one it already has: measured side by side on Node 20,
 * a notes page took 302-306 against 369 us of CPU with this done first (docs/performance.md, change 19).
 * Each is set only where absent, so an app mounted in another keeps what the parent set.
 */
function giveFinalShape(req: IncomingMessage, res: ServerResponse): void {
  const fields = req as unknown as Record<string, unknown>;
  fields.res ??= res;
  fields.next ??= undefined; // router
  fields.baseUrl ??= '';
  fields.originalUrl ??= req.url;
  fields._parsedUrl ??= undefined; // parseurl's cache
  fields.params ??= undefined;
  fields.id ??= undefined; // the request envelope
  fields.rateLimit ??= undefined; // express-rate-limit
  fields.body ??= undefined; // the body parser
  fields.route ??= undefined; // router
  (res as unknown as Record<string, unknown>).locals ??= Object.create(null);
  // Node's own writeHead sets these two; until then they are read from ServerResponse's prototype.
  if (!Object.hasOwn(res, 'statusCode')) res.statusCode = 200;
  if (!Object.hasOwn(res, 'statusMessage')) res.statusMessage = undefined as unknown as string;
}

/**
 * Replaces `handle`, what Express calls for the app (and what a parent app calls for a mounted one), on this
 * instance only, so every test that sends a request goes through it. Each request gets its final shape
 * first. Then a liveness probe is answered before Express sets up its router: only the exact probe paths, by
 * GET or HEAD. Anything else takes the routed way, a query string or a trailing slash included, and gets the
 * same answer. The envelope still runs first, so a probe carries what the routed one carried: its id, the
 * security headers, the deadline, the metrics and the access line.
 *
 * Why: on Node 20, Express's own dispatch costs a probe more than everything the envelope adds (76 against
 * 124 us of CPU per probe with the shaping, change 19).
 */
export function installFrontDoor(app: Express, { envelope, answerLive }: FrontDoorOptions): void {
  const instance = app as unknown as { handle: Handle };
  const routed = instance.handle.bind(app);
  instance.handle = (req, res, next) => {
    giveFinalShape(req, res);
    if (!(req.method === 'GET' || req.method === 'HEAD') || !LIVE_PATHS.has(req.url)) {
      routed(req, res, next);
      return;
    }
    // The rest of what app.handle sets before any middleware runs, so the envelope and the response work as
    // they do behind the router.
    res.locals.routeLabel = req.url; // no req.route: the metrics' label
    res.req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    // Neither the envelope nor the probe's answer can fail: the answer is a constant.
    envelope(req, res, () => answerLive(req, res, () => {}));
  };
}
