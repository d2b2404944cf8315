import { z } from 'zod';
import { timestamp, uuid } from '../../http/schemas.js';

export const sessionParams = z.strictObject({ id: uuid() });

export const sessionView = z.object({
  id: uuid(),
  createdAt: timestamp(),
  lastUsedAt: timestamp().nullable().describe('Updated at most every five minutes'),
  expiresAt: timestamp(),
  userAgent: z.string().nullable(),
  address: z.string().nullable().describe('The client address at login, as the proxy reported it'),
  current: z.boolean().describe('The session making this request'),
});
export const sessionList = z.object({ items: z.array(sessionView) });
