import type { Config, Problem } from './index.js';
import { DEVELOPMENT_SECRET_KEY } from './settings.js';

/** Keys from tutorials, templates and this project's own development default. */
const WELL_KNOWN = `changeme change-me secret secret-key secretkey your-secret-key your_secret_key supersecret
  development replace-with-the-output-of-npm-run-secret ${DEVELOPMENT_SECRET_KEY}`.split(/\s+/);
const GENERATE = `generate one with: node -e "console.log(require('node:crypto').randomBytes(48).toString('base64url'))"`;

/** Shannon entropy of the characters times the length: catches 'aaaa...' and 'abcabc...' keys. */
function estimatedEntropyBits(value: string): number {
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  return [...counts.values()].reduce((bits, n) => bits - n * Math.log2(n / value.length), 0);
}

function secretKeyProblem(key: string): string | undefined {
  if (!key) return `is missing; ${GENERATE}`;
  if (WELL_KNOWN.includes(key.toLowerCase())) return `is a well-known value; ${GENERATE}`;
  if (key.length < 32) return `is ${key.length} characters, needs at least 32; ${GENERATE}`;
  if (estimatedEntropyBits(key) < 128) return `has too little randomness (a pattern); ${GENERATE}`;
}

/**
 * What staging and production refuse although it parses, checked on the parsed configuration: settings unsafe
 * to face real users with. `env` tells a default from a value that was set.
 */
export function insecureSettings(config: Config, env: NodeJS.ProcessEnv): Problem[] {
  const plain = config.cors.origins.filter((origin) => origin.startsWith('http://'));
  return Object.entries({
    SECRET_KEY: secretKeyProblem(config.secretKey),
    DEBUG: config.debug && 'must be off: it puts stack traces in responses',
    CORS_ORIGINS: config.cors.origins.includes('*')
      ? "must list origins explicitly; '*' lets any site call the API"
      : plain.length > 0 && `must use https:// origins, not ${plain.join(', ')}`,
    DATABASE_URL: !config.database.url && 'is missing; the embedded database is for development only',
    S3_ENDPOINT:
      config.uploads.store === 's3' &&
      config.uploads.s3.endpoint?.startsWith('http://') &&
      'must be https://: clients follow download redirects to it, and the files cross it',
    TRUST_PROXY:
      !env.TRUST_PROXY && "must be set: 1 behind one nginx, 'loopback', the proxy's IPs, or 'false'",
  }).flatMap(([variable, message]) => (message ? [{ variable, message }] : []));
}
