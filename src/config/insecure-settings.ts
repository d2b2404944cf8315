/**
 * The refusals of the strict environments (staging, production): settings that are valid but unsafe to face
 * real users with. Each returns a message saying how to fix it, or nothing.
 */
export const MIN_SECRET_LENGTH = 32;

/** Values that appear in tutorials, templates and this project's own development default. */
const WELL_KNOWN_SECRETS = new Set([
  'changeme',
  'change-me',
  'secret',
  'secret-key',
  'secretkey',
  'your-secret-key',
  'your_secret_key',
  'supersecret',
  'development',
  'insecure-development-key-never-use-in-production',
  'replace-with-the-output-of-npm-run-secret',
]);

export const DEVELOPMENT_SECRET_KEY = 'insecure-development-key-never-use-in-production';

const GENERATE_HINT =
  "generate one with: node -e \"console.log(require('node:crypto').randomBytes(48).toString('base64url'))\"";

export function checkSecretKey(value: string | undefined): string | undefined {
  if (!value) return `is missing; ${GENERATE_HINT}`;
  if (WELL_KNOWN_SECRETS.has(value.toLowerCase())) return `is a well-known value; ${GENERATE_HINT}`;
  if (value.length < MIN_SECRET_LENGTH) {
    return `is ${value.length} characters, needs at least ${MIN_SECRET_LENGTH}; ${GENERATE_HINT}`;
  }
  if (estimatedEntropyBits(value) < 128)
    return `has too little randomness (repeated or patterned); ${GENERATE_HINT}`;
  return undefined;
}

/** Shannon entropy of the characters times the length: catches 'aaaa...' and 'abcabc...' keys. */
export function estimatedEntropyBits(value: string): number {
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bitsPerChar = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    bitsPerChar -= p * Math.log2(p);
  }
  return bitsPerChar * value.length;
}

export function checkCorsOrigins(origins: string[]): string | undefined {
  if (origins.includes('*')) return "must list origins explicitly; '*' lets any site call the API (SEC-1)";
  const plain = origins.filter((origin) => origin.startsWith('http://'));
  if (plain.length > 0) return `must use https:// origins, not ${plain.join(', ')}`;
  return undefined;
}
