import type { Knex } from 'knex';
import { Problem } from '../../http/problem.js';
import { hashPassword, verifyPassword } from './passwords.js';
import {
  clearFailedLogins,
  findUserByEmail,
  insertSession,
  insertUser,
  recordFailedLogin,
  revokeSession,
} from './repository.js';
import { hashToken, newSessionToken } from './tokens.js';

export interface PublicUser {
  id: string;
  email: string;
  name: string | null;
  createdAt: string;
  emailVerifiedAt: string | null;
}

export const toPublicUser = (row: {
  id: string;
  email: string;
  name: string | null;
  created_at: string;
  email_verified_at: string | null;
}): PublicUser => ({
  id: row.id,
  email: row.email,
  name: row.name,
  createdAt: row.created_at,
  emailVerifiedAt: row.email_verified_at,
});

/** The same answer for an unknown email and a wrong password, so neither can be told apart. */
const invalidCredentials = () => new Problem('invalid-credentials', 'The email or password is incorrect.');

export interface AccountsDeps {
  db: Knex;
  registrationOpen: boolean;
  tokenTtlSeconds: number;
  /** Failed logins in a row that lock an account, and for how long. */
  lockout: { threshold: number; minutes: number };
  /** Told when a run of failures locks an account (to warn its owner). */
  onLocked?: (user: { id: string; email: string }, until: string) => void;
  /** Unverified accounts may not log in (REQUIRE_VERIFIED_EMAIL). */
  requireVerifiedEmail: boolean;
  /** Asks for a verification mail: after sign-up, and when an unverified account is refused at login. */
  mailVerification?: (user: { id: string; email: string }) => Promise<void>;
}

const lockedProblem = (until: string) => {
  const seconds = Math.max(1, Math.ceil((Date.parse(until) - Date.now()) / 1000));
  return new Problem('account-locked', 'Too many failed logins for this account; try again later.', {
    headers: { 'Retry-After': String(seconds) },
  });
};

export async function register(
  deps: AccountsDeps,
  input: { email: string; password: string; name?: string | undefined },
): Promise<PublicUser> {
  if (!deps.registrationOpen) throw new Problem('registration-closed', 'Registration is closed.');
  const passwordHash = await hashPassword(input.password);
  const user = await insertUser(deps.db, { email: input.email, name: input.name, passwordHash });
  if (!user) throw new Problem('conflict', 'An account with this email already exists.');
  await deps.mailVerification?.(user);
  return toPublicUser(user);
}

export async function login(
  deps: AccountsDeps,
  input: { email: string; password: string },
  client: { userAgent?: string | undefined; address?: string | undefined } = {},
) {
  const user = await findUserByEmail(deps.db, input.email);
  // While locked, no password is even tried: guessing stops, whatever the number of addresses it comes from.
  if (user?.locked_until && Date.parse(user.locked_until) > Date.now())
    throw lockedProblem(user.locked_until);
  const valid = await verifyPassword(user?.password_hash, input.password);
  if (user && !valid) {
    const lockedUntil = await recordFailedLogin(deps.db, user.id, deps.lockout);
    if (lockedUntil) deps.onLocked?.(user, lockedUntil);
  }
  if (!user || !valid) throw invalidCredentials();
  if (user.failed_logins > 0 || user.locked_until) await clearFailedLogins(deps.db, user.id);
  // Said only to whoever knows the password: it reveals nothing an attacker could not already try.
  if (user.disabled_at) throw new Problem('account-disabled', 'This account is disabled; contact support.');
  if (deps.requireVerifiedEmail && !user.email_verified_at) {
    // The password is right, so the owner asks: a fresh link, since the first may be lost or expired.
    await deps.mailVerification?.(user);
    throw new Problem(
      'email-unverified',
      'Confirm your email address first, with the link mailed to it; each refused login mails a new one (at most three an hour).',
    );
  }
  const token = newSessionToken();
  const tokenHash = hashToken(token);
  const expiresAt = new Date(Date.now() + deps.tokenTtlSeconds * 1000);
  await insertSession(deps.db, { userId: user.id, tokenHash, expiresAt, ...client });
  return { token, tokenHash, expiresAt, userId: user.id };
}

export const logout = (deps: Pick<AccountsDeps, 'db'>, sessionId: string) =>
  revokeSession(deps.db, sessionId);
