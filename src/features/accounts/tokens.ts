import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits; the prefix lets secret scanners recognise a leaked token. */
export const newSessionToken = (): string => `ss_${randomBytes(32).toString('base64url')}`;

/** What the database stores: a token's SHA-256. The token itself is shown once, at login. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/**
 * The CSRF token of a cookie session: an HMAC of the session, so it needs no storage, differs per
 * session and cannot be forged without SECRET_KEY.
 */
export const csrfTokenFor = (secretKey: string, tokenHash: string): string =>
  createHmac('sha256', secretKey).update(`csrf:${tokenHash}`).digest('base64url');

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
