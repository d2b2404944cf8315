import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Problem } from './index.js';

/**
 * Fills each secret left unset from NAME_FILE (Docker and Kubernetes secrets), else from
 * $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=, optional). Returns a copy of env.
 */
export function resolveSecrets(env: NodeJS.ProcessEnv, names: string[]) {
  const resolved = { ...env };
  const problems: Problem[] = [];
  for (const name of names.filter((secret) => !env[secret])) {
    const file = env[`${name}_FILE`];
    const path = file || (env.CREDENTIALS_DIRECTORY && join(env.CREDENTIALS_DIRECTORY, name));
    try {
      if (path) resolved[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      if (file)
        problems.push({ variable: `${name}_FILE`, message: `cannot read ${file} (${reason}); fix the path` });
    }
  }
  return { env: resolved, problems };
}
