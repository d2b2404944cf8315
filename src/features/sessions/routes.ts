import type { Knex } from 'knex';
import { notFound } from '../../http/problem.js';
import { type Route, route } from '../../http/routes.js';
import { currentAuth } from '../accounts/authenticate.js';
import { listLiveSessions, revokeOtherSessions, revokeOwnSession } from './repository.js';
import { sessionList, sessionParams } from './schemas.js';

/** "Where am I logged in": a user sees their live sessions and ends any of them, or all but this one. */
export function sessionRoutes({ db }: { db: Knex }): Route[] {
  const common = { tag: 'accounts', auth: 'required' } as const;
  return [
    route({
      ...common,
      method: 'get',
      path: '/users/me/sessions',
      operationId: 'listMySessions',
      summary: 'Your live sessions, newest first',
      status: 200,
      responses: { 200: { description: 'Sessions neither expired nor revoked', schema: sessionList } },
      handle: async (_input, _req, res) => {
        const auth = currentAuth(res);
        const rows = await listLiveSessions(db, auth.user.id);
        res.json({
          items: rows.map((row) => ({
            id: row.id,
            createdAt: row.created_at,
            lastUsedAt: row.last_used_at,
            expiresAt: row.expires_at,
            userAgent: row.user_agent,
            address: row.address,
            current: row.id === auth.sessionId,
          })),
        });
      },
    }),
    route({
      ...common,
      method: 'delete',
      path: '/users/me/sessions/:id',
      operationId: 'revokeMySession',
      summary: 'End one of your sessions (log out that device)',
      params: sessionParams,
      status: 204,
      responses: {
        204: { description: 'The session is revoked' },
        404: { description: 'No live session with this id is yours', problems: ['not-found'] },
      },
      handle: async ({ params }, _req, res) => {
        if (!(await revokeOwnSession(db, currentAuth(res).user.id, params.id)))
          throw notFound('No live session with this id is yours.');
        res.status(204).end();
      },
    }),
    route({
      ...common,
      method: 'delete',
      path: '/users/me/sessions',
      operationId: 'revokeMyOtherSessions',
      summary: 'End every session but this one (log out everywhere else)',
      status: 204,
      responses: { 204: { description: 'Every other session is revoked' } },
      handle: async (_input, _req, res) => {
        const auth = currentAuth(res);
        await revokeOtherSessions(db, auth.user.id, auth.sessionId);
        res.status(204).end();
      },
    }),
  ];
}
