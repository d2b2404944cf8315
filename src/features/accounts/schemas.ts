import { z } from 'zod';
import { text, timestamp, trimmedText, uuid } from '../../http/schemas.js';

export const email = () =>
  text()
    .max(254, { error: 'must be at most 254 characters' })
    .pipe(z.email({ error: 'must be an email address' }))
    .transform((value) => value.toLowerCase())
    .meta({ format: 'email', description: 'Compared without regard to case.' });

/** NIST SP 800-63B: length is what makes a password strong; no composition rules. */
export const password = () =>
  text()
    .min(12, { error: 'must be at least 12 characters' })
    .max(128, { error: 'must be at most 128 characters' });

export const registerBody = z.strictObject({
  email: email(),
  password: password(),
  name: trimmedText(100).optional(),
});

export const loginBody = z.strictObject({
  email: email(),
  // Any length is checked against the hash; the cap only bounds the hashing work an attacker can ask for.
  password: text().min(1).max(128),
});

export const userView = z.object({
  id: uuid(),
  email: z.email(),
  name: z.string().nullable(),
  createdAt: timestamp(),
});

export const userResponse = z.object({ user: userView });

export const loginResponse = z.object({
  token: z.string(),
  tokenType: z.literal('Bearer'),
  expiresAt: timestamp(),
  csrfToken: z
    .string()
    .describe('Send as X-CSRF-Token on unsafe requests authenticated by the session cookie.'),
});
