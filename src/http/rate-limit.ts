import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';
import { Problem, sendProblem } from './problem.js';
import { type RedisCommander, SharedOrLocalStore, type StoreEvents } from './rate-limit-store.js';

export type { RedisCommander };

export interface RateLimitOptions {
  windowMs: number;
  max: number;
  /** Shared counters across every process and replica; without it each process counts alone. */
  redis?: RedisCommander | undefined;
  /** Called on every rejection, e.g. to count them in metrics. */
  onLimited?: (limiter: string) => void;
  /** When Redis cannot be used and a request is counted in this process instead. */
  storeEvents?: StoreEvents;
}

function storeFor(name: string, options: RateLimitOptions): Store | undefined {
  // Without Redis, express-rate-limit's MemoryStore: correct for a single process only.
  if (!options.redis) return undefined;
  return new SharedOrLocalStore(name, options.redis, options.storeEvents);
}

function limiter(
  name: string,
  options: RateLimitOptions,
  keyGenerator: (req: Request) => string,
): RequestHandler {
  return rateLimit({
    windowMs: options.windowMs,
    limit: options.max,
    identifier: name,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator,
    store: storeFor(name, options),
    handler: (_req, res, _next, limits) => {
      options.onLimited?.(name);
      const seconds = Math.ceil(limits.windowMs / 1000);
      sendProblem(
        res,
        new Problem(
          'rate-limited',
          `Too many requests; at most ${limits.limit} per ${seconds} s. Retry after the delay.`,
        ),
      );
    },
  });
}

/** The general limit per client IP. req.ip is trustworthy because TRUST_PROXY is explicit. */
export function generalRateLimit(options: RateLimitOptions): RequestHandler {
  return limiter('general', options, (req) => ipKeyGenerator(req.ip ?? 'unknown'));
}

/**
 * The stricter limit on /auth, keyed on IP and the email tried, so one attacker cannot lock a victim
 * out from elsewhere and one address cannot spray many accounts faster than the general limit allows.
 * Runs after the body parser, which it needs for the email.
 */
export function authRateLimit(options: RateLimitOptions): RequestHandler {
  return limiter('auth', options, (req) => {
    const email =
      typeof req.body?.email === 'string' ? req.body.email.trim().toLowerCase().slice(0, 254) : '';
    return `${ipKeyGenerator(req.ip ?? 'unknown')}|${email}`;
  });
}
