import type { Knex } from 'knex';
import { Problem } from '../../http/problem.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { findUserByEmail, insertSession, insertUser, revokeSession } from './repository.js';
import { hashToken, newSessionToken } from './tokens.js';

export interface PublicUser {
  id: string;
  email: string;
  name: string | null;
  createdAt: string;
}

export const toPublicUser = (row: {
  id: string;
  email: string;
  name: string | null;
  created_at: string;
}) => ({
  id: row.id,
  email: row.email,
  name: row.name,
  createdAt: row.created_at,
});

/** The same answer for an unknown email and a wrong password, so neither can be told apart. */
const invalidCredentials = () => new Problem('invalid-credentials', 'The email or password is incorrect.');

export interface AccountsDeps {
  db: Knex;
  registrationOpen: boolean;
  tokenTtlSeconds: number;
}

export async function register(
  deps: AccountsDeps,
  input: { email: string; password: string; name?: string | undefined },
): Promise<PublicUser> {
  if (!deps.registrationOpen) throw new Problem('registration-closed', 'Registration is closed.');
  const passwordHash = await hashPassword(input.password);
  const user = await insertUser(deps.db, { email: input.email, name: input.name, passwordHash });
  if (!user) throw new Problem('conflict', 'An account with this email already exists.');
  return toPublicUser(user);
}

export async function login(deps: AccountsDeps, input: { email: string; password: string }) {
  const user = await findUserByEmail(deps.db, input.email);
  const valid = await verifyPassword(user?.password_hash, input.password);
  if (!user || !valid) throw invalidCredentials();
  const token = newSessionToken();
  const tokenHash = hashToken(token);
  const expiresAt = new Date(Date.now() + deps.tokenTtlSeconds * 1000);
  await insertSession(deps.db, { userId: user.id, tokenHash, expiresAt });
  return { token, tokenHash, expiresAt };
}

export const logout = (deps: Pick<AccountsDeps, 'db'>, sessionId: string) =>
  revokeSession(deps.db, sessionId);
