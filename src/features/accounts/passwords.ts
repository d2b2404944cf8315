import argon2 from 'argon2';

/**
 * argon2id at OWASP's recommended minimum (19 MiB, 2 iterations, 1 lane). argon2 runs on libuv's
 * thread pool, so hashing never blocks the event loop.
 */
const OWASP_ARGON2ID = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => argon2.hash(password, OWASP_ARGON2ID);

/** Hashed once per process; verified against when the email is unknown, so both failures take as long. */
let decoy: Promise<string> | undefined;

/** Checks a password against a stored hash, or against a decoy when there is no user (no user enumeration). */
export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  decoy ??= hashPassword('decoy password that matches no account');
  const hash = storedHash ?? (await decoy);
  const matches = await argon2.verify(hash, password);
  return storedHash !== undefined && matches;
}
