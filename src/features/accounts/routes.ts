import { z } from 'zod';
import { Problem } from '../../http/problem.js';
import type { Route } from '../../http/routes.js';
import { route } from '../../http/routes.js';
import type { BusinessEvents } from '../../observability/business-events.js';
import { currentAuth } from './authenticate.js';
import { loginBody, loginResponse, registerBody, userResponse } from './schemas.js';
import { type AccountsDeps, login, logout, register } from './service.js';
import { clearSessionCookies, type SessionCookieNames, setSessionCookies } from './session-cookies.js';
import { csrfTokenFor } from './tokens.js';

export interface AccountsRouteOptions extends AccountsDeps, SessionCookieNames {
  secretKey: string;
  events: BusinessEvents;
}

/** Records a refusal the client caused (a Problem) as a failed event; other errors are not the user's. */
const recordingFailure =
  (events: BusinessEvents, kind: 'signup' | 'login', email: string) =>
  (error: unknown): never => {
    if (error instanceof Problem) events.record({ kind, outcome: 'failure', email });
    throw error;
  };

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
        const user = await register(options, body).catch(
          recordingFailure(options.events, 'signup', body.email),
        );
        options.events.record({ kind: 'signup', outcome: 'success', userId: user.id });
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
        403: {
          description: 'The account is disabled, or its email is unverified while verification is required',
          problems: ['account-disabled', 'email-unverified'],
        },
        429: {
          description: 'Locked after repeated failed logins; Retry-After',
          problems: ['account-locked'],
        },
      },
      handle: async ({ body }, req, res) => {
        const client = { userAgent: req.headers['user-agent'], address: req.ip };
        const session = await login(options, body, client).catch(
          recordingFailure(options.events, 'login', body.email),
        );
        options.events.record({ kind: 'login', outcome: 'success', userId: session.userId });
        const csrfToken = csrfTokenFor(options.secretKey, session.tokenHash);
        setSessionCookies(res, options, { token: session.token, csrfToken, expiresAt: session.expiresAt });
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
        clearSessionCookies(res, options);
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
