import type { CookieOptions } from 'express';
import { z } from 'zod';
import type { Route } from '../../http/routes.js';
import { route } from '../../http/routes.js';
import { currentAuth } from './authenticate.js';
import { loginBody, loginResponse, registerBody, userResponse } from './schemas.js';
import { type AccountsDeps, login, logout, register } from './service.js';
import { csrfTokenFor } from './tokens.js';

export interface AccountsRouteOptions extends AccountsDeps {
  secretKey: string;
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

export function accountRoutes(options: AccountsRouteOptions): Route[] {
  return [
    route({
      method: 'post',
      path: '/auth/register',
      operationId: 'register',
      summary: 'Create an account',
      tag: 'accounts',
      auth: 'none',
      body: registerBody,
      status: 201,
      responses: {
        201: { description: 'The account was created', schema: userResponse },
        403: { description: 'Registration is closed', problems: ['registration-closed'] },
        409: { description: 'An account with this email exists', problems: ['conflict'] },
      },
      handle: async ({ body }, _req, res) => {
        const user = await register(options, body);
        res.status(201).json({ user });
      },
    }),
    route({
      method: 'post',
      path: '/auth/login',
      operationId: 'login',
      summary: 'Log in: a bearer token and a session cookie',
      tag: 'accounts',
      auth: 'none',
      body: loginBody,
      status: 200,
      responses: {
        200: { description: 'Logged in', schema: loginResponse },
        401: { description: 'The email or password is incorrect', problems: ['invalid-credentials'] },
      },
      handle: async ({ body }, _req, res) => {
        const session = await login(options, body);
        const csrfToken = csrfTokenFor(options.secretKey, session.tokenHash);
        res.cookie(options.cookieName, session.token, sessionCookie(session.expiresAt));
        // Readable by the page's scripts on purpose: they echo it in X-CSRF-Token (double submit).
        res.cookie(options.csrfCookieName, csrfToken, {
          ...sessionCookie(session.expiresAt),
          httpOnly: false,
          sameSite: 'strict',
        });
        res.json({
          token: session.token,
          tokenType: 'Bearer',
          expiresAt: session.expiresAt.toISOString(),
          csrfToken,
        });
      },
    }),
    route({
      method: 'post',
      path: '/auth/logout',
      operationId: 'logout',
      summary: 'Log out: revokes the token or cookie session',
      tag: 'accounts',
      auth: 'required',
      status: 204,
      responses: { 204: { description: 'Logged out' } },
      handle: async (_input, _req, res) => {
        await logout(options, currentAuth(res).sessionId);
        res.clearCookie(options.cookieName, sessionCookie(new Date(0)));
        res.clearCookie(options.csrfCookieName, {
          ...sessionCookie(new Date(0)),
          httpOnly: false,
          sameSite: 'strict',
        });
        res.status(204).end();
      },
    }),
    route({
      method: 'get',
      path: '/users/me',
      operationId: 'getCurrentUser',
      summary: 'The account of the caller',
      tag: 'accounts',
      auth: 'required',
      query: z.strictObject({}),
      status: 200,
      responses: { 200: { description: 'The caller', schema: userResponse } },
      handle: (_input, _req, res) => {
        res.json({ user: currentAuth(res).user });
      },
    }),
  ];
}
