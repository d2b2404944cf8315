import type { Knex } from 'knex';
import { notFound, Problem } from '../../http/problem.js';
import { type Route, route } from '../../http/routes.js';
import { encodeCursor, pageQuery } from '../../http/schemas.js';
import { currentAuth } from '../accounts/authenticate.js';
import { type AdminUserRow, listUsers, setDisabled } from './repository.js';
import { adminUserPage, adminUserResponse, updateUserBody, userParams } from './schemas.js';

const toView = (row: AdminUserRow) => ({
  id: row.id,
  email: row.email,
  name: row.name,
  role: row.role,
  createdAt: row.created_at,
  emailVerifiedAt: row.email_verified_at,
  disabledAt: row.disabled_at,
});

/** What an operator does to accounts without a database shell; admins only (granted by dist/cli/admin.js). */
export function adminRoutes({ db }: { db: Knex }): Route[] {
  const common = { tag: 'admin', auth: 'admin' } as const;
  return [
    route({
      ...common,
      method: 'get',
      path: '/admin/users',
      operationId: 'listUsers',
      summary: 'Every account, oldest first, a page at a time',
      query: pageQuery(),
      status: 200,
      responses: { 200: { description: 'A page of accounts', schema: adminUserPage } },
      handle: async ({ query }, _req, res) => {
        const rows = await listUsers(db, { limit: query.limit, after: query.cursor });
        const items = rows.slice(0, query.limit).map(toView);
        const nextCursor = rows.length > query.limit ? encodeCursor(items.at(-1)!.id) : null;
        res.json({ items, nextCursor });
      },
    }),
    route({
      ...common,
      method: 'patch',
      path: '/admin/users/:id',
      operationId: 'updateUser',
      summary: 'Disable an account (its sessions are revoked at once) or enable it again',
      params: userParams,
      body: updateUserBody,
      status: 200,
      responses: {
        200: { description: 'The account as it is now', schema: adminUserResponse },
        404: { description: 'No account has this id', problems: ['not-found'] },
        409: { description: 'An admin cannot disable their own account', problems: ['conflict'] },
      },
      handle: async ({ params, body }, _req, res) => {
        if (body.disabled && params.id === currentAuth(res).user.id)
          throw new Problem('conflict', 'You cannot disable your own account; ask another admin.');
        const row = await setDisabled(db, params.id, body.disabled);
        if (!row) throw notFound('No account has this id.');
        res.json({ user: toView(row) });
      },
    }),
  ];
}
