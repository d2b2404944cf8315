import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Settings that are secrets: each may also come from a file, never from source (CFG-3, CFG-7). */
export const SECRET_NAMES = ['SECRET_KEY', 'DATABASE_URL', 'REDIS_URL', 'SENTRY_DSN'] as const;

export interface SecretProblem {
  variable: string;
  message: string;
}

/**
 * Fills each secret from, in order: the variable itself, NAME_FILE (Docker and Kubernetes secrets), or
 * $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=). Returns a copy of env; never mutates it.
 */
export function resolveSecrets(env: NodeJS.ProcessEnv): {
  env: NodeJS.ProcessEnv;
  problems: SecretProblem[];
} {
  const resolved: NodeJS.ProcessEnv = { ...env };
  const problems: SecretProblem[] = [];
  for (const name of SECRET_NAMES) {
    if (env[name]) continue;
    const fileVariable = `${name}_FILE`;
    const path = env[fileVariable] || credentialPath(env, name);
    if (!path) continue;
    try {
      resolved[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      if (!env[fileVariable]) continue;
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push({
        variable: fileVariable,
        message: `cannot read ${path} (${reason}); point it at a readable file`,
      });
    }
  }
  return { env: resolved, problems };
}

function credentialPath(env: NodeJS.ProcessEnv, name: string): string | undefined {
  return env.CREDENTIALS_DIRECTORY ? join(env.CREDENTIALS_DIRECTORY, name) : undefined;
}
