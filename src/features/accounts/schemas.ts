import { z } from 'zod';
import { text, textOfLength, timestamp, trimmedText, uuid } from '../../http/schemas.js';

/**
 * An address as RFC 5321 writes it without quoting (dot-separated atoms, a domain of letter-or-digit-edged
 * labels with at least one dot): the expression JSON Schema validators use for format "email" (ajv-formats'
 * full mode). One expression for the server and the document, so a client validating against the document
 * agrees with the server.
 */
const EMAIL =
  /^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

export const email = () =>
  text()
    .max(254, { error: 'must be at most 254 characters' })
    .pipe(z.email({ pattern: EMAIL, error: 'must be an email address' }))
    .transform((value) => value.toLowerCase())
    .meta({
      format: 'email',
      pattern: EMAIL.source,
      maxLength: 254,
      description: 'Compared without regard to case.',
    });

/** NIST SP 800-63B: length is what makes a password strong; no composition rules. */
export const password = () => textOfLength(12, 128);

export const registerBody = z.strictObject({
  email: email(),
  password: password(),
  name: trimmedText(100).optional(),
});

export const loginBody = z.strictObject({
  email: email(),
  // Any length is checked against the hash; the cap only bounds the hashing work an attacker can ask for.
  password: textOfLength(1, 128),
});

export const userView = z.object({
  id: uuid(),
  email: z.email({ pattern: EMAIL }),
  name: z.string().nullable(),
  createdAt: timestamp(),
  emailVerifiedAt: timestamp()
    .nullable()
    .describe('When the account proved it receives mail at this address; null until the mailed link is used'),
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
