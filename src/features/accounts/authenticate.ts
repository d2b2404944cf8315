import { parse as parseCookies } from 'cookie';
import type { Request, RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import { Problem, unauthorized } from '../../http/problem.js';
import { findActiveSession, type Role, type SessionWithUser, touchSession } from './repository.js';
import { type PublicUser, toPublicUser } from './service.js';
import type { SessionCache } from './session-cache.js';
import { csrfTokenFor, hashToken, safeEqual } from './tokens.js';

export interface Auth {
  user: PublicUser;
  role: Role;
  sessionId: string;
  tokenHash: string;
  via: 'bearer' | 'cookie';
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** "Last used" is for a person reading their sessions: minutes are enough, and most requests write nothing. */
const TOUCH_EVERY_MS = 5 * 60_000;

export interface AuthenticateOptions {
  db: Knex;
  secretKey: string;
  cookieName: string;
  allowedOrigins: string[];
  /** Sessions kept in memory while their changes can be heard; none: every request reads the database. */
  cache?: SessionCache;
}

async function lookUpSession(options: AuthenticateOptions, tokenHash: string) {
  const { cache, db } = options;
  const cached = cache?.get(tokenHash);
  if (cached) return cached;
  const mark = cache?.mark() ?? 0;
  const session = await findActiveSession(db, tokenHash);
  if (session) cache?.remember(tokenHash, session, mark);
  return session;
}

function presentedToken(req: Request, cookieName: string): { token: string; via: Auth['via'] } | undefined {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(header);
    return match ? { token: match[1]!, via: 'bearer' } : { token: '', via: 'bearer' };
  }
  const cookie = req.headers.cookie && parseCookies(req.headers.cookie)[cookieName];
  return cookie ? { token: cookie, via: 'cookie' } : undefined;
}

/**
 * A cookie is sent by the browser whoever made the page, so an unsafe cookie request must come from an
 * allowed origin and carry the session's CSRF token. Bearer tokens are never sent automatically.
 */
function checkCsrf(req: Request, tokenHash: string, options: AuthenticateOptions): void {
  const origin = req.headers.origin;
  const ownOrigin = `${req.protocol}://${req.host}`;
  if (origin && origin !== ownOrigin && !options.allowedOrigins.includes(origin)) {
    throw new Problem('csrf-rejected', `Requests from ${origin} may not use the session cookie.`);
  }
  if (!origin && req.headers['sec-fetch-site'] === 'cross-site') {
    throw new Problem('csrf-rejected', 'Cross-site requests may not use the session cookie.');
  }
  const sent = req.headers['x-csrf-token'];
  if (typeof sent !== 'string' || !safeEqual(sent, csrfTokenFor(options.secretKey, tokenHash))) {
    throw new Problem('csrf-rejected', "Send the session's CSRF token in the X-CSRF-Token header.");
  }
}

/** Who is calling: a bearer token or a session cookie, looked up with its user in one query. */
export function authenticate(options: AuthenticateOptions): RequestHandler {
  return async (req, res, next) => {
    const presented = presentedToken(req, options.cookieName);
    if (!presented) throw unauthorized();
    const tokenHash = hashToken(presented.token);
    const session: SessionWithUser | undefined = presented.token
      ? await lookUpSession(options, tokenHash)
      : undefined;
    if (!session) throw unauthorized('The token is invalid, expired or revoked; log in again.');
    if (!SAFE_METHODS.has(req.method)) {
      if (presented.via === 'cookie') checkCsrf(req, tokenHash, options);
      // A logout or a revocation made here holds in this process before its answer is written ('prefinish'
      // fires in res.end); other processes hear of it from the database's notification.
      const { cache } = options;
      if (cache) res.once('prefinish', () => cache.forgetUser(session.user_id));
    }
    if (!session.last_used_at || Date.now() - Date.parse(session.last_used_at) > TOUCH_EVERY_MS) {
      // Not awaited: the request does not wait for bookkeeping, and a failed write only leaves the time older.
      touchSession(options.db, session.session_id).catch(() => {});
    }
    const auth: Auth = {
      user: toPublicUser({ ...session, id: session.user_id }),
      role: session.role,
      sessionId: session.session_id,
      tokenHash,
      via: presented.via,
    };
    res.locals.auth = auth;
    next();
  };
}

/** After authenticate: lets the request on only when the caller has the role. */
export const requireRole =
  (role: Role): RequestHandler =>
  (_req, res, next) => {
    if (currentAuth(res).role !== role) throw new Problem('forbidden', `This needs the ${role} role.`);
    next();
  };

/** The caller of an authenticated route; routes declared `auth: 'required'` always have one. */
export function currentAuth(res: Response): Auth {
  const auth = res.locals.auth as Auth | undefined;
  if (!auth) throw unauthorized();
  return auth;
}
