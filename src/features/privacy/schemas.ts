import { z } from 'zod';
import { textOfLength, timestamp, uuid } from '../../http/schemas.js';
import { userView } from '../accounts/schemas.js';
import { attachmentView } from '../attachments/schemas.js';
import { noteView } from '../notes/schemas.js';

export const eraseBody = z.strictObject({
  // The current password, checked against the hash: a stolen session alone cannot erase an account.
  password: textOfLength(1, 128),
});

const sessionView = z.object({
  id: uuid(),
  createdAt: timestamp(),
  lastUsedAt: timestamp().nullable(),
  expiresAt: timestamp(),
  revokedAt: timestamp().nullable(),
  userAgent: z.string().nullable(),
  address: z.string().nullable(),
  current: z.boolean().describe('The session that asked for this export.'),
});

export const exportResponse = z.object({
  exportedAt: timestamp(),
  user: userView,
  notes: z.array(noteView),
  attachments: z
    .array(attachmentView.extend({ noteId: uuid() }))
    .describe('The files themselves: GET each from its note (/notes/{noteId}/attachments/{id})'),
  sessions: z.array(sessionView),
});
