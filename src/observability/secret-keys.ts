/**
 * The one definition of a secret key: a header, cookie or field name whose value never leaves the process,
 * neither in a log line nor in a Sentry event. Any name containing one of these, in any
 * capitals: Authorization, Cookie and Set-Cookie, X-CSRF-Token and csrfToken, password, passphrase,
 * secretKey, token, apiKey and x-api-key, sessionId.
 */
const SECRET_KEY = /authorization|cookie|csrf|password|passphrase|secret|token|api[-_]?key|session/i;

/** Answers remembered per name: the logger asks for every key of every line, and the names are few. */
const answers = new Map<string, boolean>();
const MAX_REMEMBERED = 1_000;

export function isSecretKey(key: string): boolean {
  let secret = answers.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(key);
    if (answers.size < MAX_REMEMBERED) answers.set(key, secret);
  }
  return secret;
}

/** What a secret's value is replaced with, in logs and in Sentry events alike. */
export const CENSOR = '[redacted]';
