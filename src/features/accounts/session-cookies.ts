import type { CookieOptions, Response } from 'express';

export interface SessionCookieNames {
  cookieName: string;
  csrfCookieName: string;
}

/** HttpOnly keeps the session from scripts; Secure and SameSite=Lax keep it off plain HTTP and cross-site posts. */
const sessionCookie = (expires: Date): CookieOptions => ({
  httpOnly: true,
  secure: true,
  sameSite: 'lax',
  path: '/',
  expires,
});

/** Readable by the page's scripts on purpose: they echo it in X-CSRF-Token (double submit). */
const csrfCookie = (expires: Date): CookieOptions => ({
  ...sessionCookie(expires),
  httpOnly: false,
  sameSite: 'strict',
});

export function setSessionCookies(
  res: Response,
  names: SessionCookieNames,
  session: { token: string; csrfToken: string; expiresAt: Date },
): void {
  res.cookie(names.cookieName, session.token, sessionCookie(session.expiresAt));
  res.cookie(names.csrfCookieName, session.csrfToken, csrfCookie(session.expiresAt));
}

export function clearSessionCookies(res: Response, names: SessionCookieNames): void {
  res.clearCookie(names.cookieName, sessionCookie(new Date(0)));
  res.clearCookie(names.csrfCookieName, csrfCookie(new Date(0)));
}
