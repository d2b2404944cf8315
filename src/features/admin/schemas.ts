import { z } from 'zod';
import { timestamp, uuid } from '../../http/schemas.js';

export const userParams = z.strictObject({ id: uuid() });

export const updateUserBody = z.strictObject({
  disabled: z.boolean().describe('true: the account cannot log in and every session is revoked at once'),
});

export const adminUserView = z.object({
  id: uuid(),
  email: z.string(),
  name: z.string().nullable(),
  role: z.enum(['user', 'admin']),
  createdAt: timestamp(),
  emailVerifiedAt: timestamp().nullable().describe('When the owner proved the address; null: never'),
  disabledAt: timestamp().nullable(),
});
export const adminUserResponse = z.object({ user: adminUserView });
export const adminUserPage = z.object({ items: z.array(adminUserView), nextCursor: z.string().nullable() });
