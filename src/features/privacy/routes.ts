import type { Knex } from 'knex';
import { Problem } from '../../http/problem.js';
import { type Route, route } from '../../http/routes.js';
import type { BusinessEvents } from '../../observability/business-events.js';
import type { FileStore } from '../../storage/files.js';
import { currentAuth } from '../accounts/authenticate.js';
import { verifyPassword } from '../accounts/passwords.js';
import { toPublicUser } from '../accounts/service.js';
import { clearSessionCookies, type SessionCookieNames } from '../accounts/session-cookies.js';
import { collectUserData, eraseUser, findPasswordHash } from './repository.js';
import { eraseBody, exportResponse } from './schemas.js';

/** The caller's data out (export) and gone (erasure): what the GDPR's articles 15, 17 and 20 ask of a service. */
export function privacyRoutes({
  db,
  events,
  files,
  ...cookies
}: { db: Knex; events: BusinessEvents; files: FileStore } & SessionCookieNames): Route[] {
  const common = { tag: 'accounts', auth: 'required' } as const;
  return [
    route({
      ...common,
      method: 'get',
      path: '/users/me/export',
      operationId: 'exportMyData',
      summary: 'Everything stored about the caller, as one JSON document',
      status: 200,
      responses: { 200: { description: 'The account, its notes and its sessions', schema: exportResponse } },
      handle: async (_input, _req, res) => {
        const auth = currentAuth(res);
        const { user, notes, sessions, attachments } = await collectUserData(db, auth.user.id);
        if (!user) throw new Problem('unauthenticated', 'The account no longer exists.');
        res.attachment('shipshape-export.json').json({
          exportedAt: new Date().toISOString(),
          user: toPublicUser(user),
          notes: notes.map((n) => ({
            id: n.id,
            title: n.title,
            body: n.body,
            createdAt: n.created_at,
            updatedAt: n.updated_at,
          })),
          attachments: attachments.map((a) => ({
            id: a.id,
            noteId: a.note_id,
            filename: a.filename,
            contentType: a.content_type,
            size: Number(a.size_bytes),
            sha256: a.sha256,
            createdAt: a.created_at,
          })),
          sessions: sessions.map((s) => ({
            id: s.id,
            createdAt: s.created_at,
            lastUsedAt: s.last_used_at,
            expiresAt: s.expires_at,
            revokedAt: s.revoked_at,
            userAgent: s.user_agent,
            address: s.address,
            current: s.id === auth.sessionId,
          })),
        });
      },
    }),
    route({
      ...common,
      method: 'delete',
      path: '/users/me',
      operationId: 'deleteMyAccount',
      summary: 'Erase the account and everything stored with it (needs the password)',
      body: eraseBody,
      status: 204,
      responses: {
        204: { description: 'The account, its notes and its sessions are erased' },
        403: { description: 'The password is incorrect', problems: ['password-incorrect'] },
      },
      handle: async ({ body }, _req, res) => {
        const auth = currentAuth(res);
        const userId = auth.user.id;
        if (!(await verifyPassword(await findPasswordHash(db, userId), body.password))) {
          events.record({ kind: 'erasure', outcome: 'failure', userId });
          throw new Problem('password-incorrect', 'The password is incorrect; nothing was erased.');
        }
        await eraseUser(db, userId);
        await files.remove(userId);
        events.record({ kind: 'erasure', outcome: 'success', userId });
        clearSessionCookies(res, cookies);
        res.status(204).end();
      },
    }),
  ];
}
