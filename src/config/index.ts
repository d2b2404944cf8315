import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { insecureSettings } from './insecure-settings.js';
import { settingConflicts } from './setting-conflicts.js';
import { type AppEnv, SETTINGS, type Setting, type Values } from './settings.js';

export type { AppEnv } from './settings.js';
export type Config = Values<typeof SETTINGS>;
export type Problem = { variable: string; message: string };
/** Exit status for a bad configuration (sysexits.h EX_CONFIG): the supervisor should not restart-loop on it. */
export const EX_CONFIG = 78;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    appEnv: string,
    readonly problems: Problem[],
  ) {
    const list = problems.map((p) => `\n  - ${p.variable}: ${p.message}`).join('');
    super(`Configuration refused (APP_ENV=${appEnv}), ${problems.length} setting(s) to fix:${list}`);
  }
}

type Table = { [key: string]: Setting<unknown> | Table };
const isRow = (node: object): node is Setting<unknown> => 'default' in node;
const rows = (t: Table): Setting<unknown>[] => Object.values(t).flatMap((n) => (isRow(n) ? n : rows(n)));
const map = (t: Table, f: (row: Setting<unknown>) => unknown): unknown =>
  Object.fromEntries(Object.entries(t).map(([k, n]) => [k, isRow(n) ? f(n) : map(n, f)]));
/** Every variable the configuration reads: .env.example documents exactly these. */
export const CONFIG_VARIABLES = rows(SETTINGS).flatMap((row) => row.variable ?? []);
const SECRETS = rows(SETTINGS).flatMap((row) => (row.secret ? row.variable! : []));
const FEATURES = CONFIG_VARIABLES.filter((name) => name.startsWith('FEATURE_'));

/** The row's variable parsed, else its environment's default. Empty is unset, as compose and systemd write it. */
function read<T>(row: Setting<T>, env: NodeJS.ProcessEnv, appEnv: AppEnv, problems: Problem[] = []): T {
  const parsed = row.variable && env[row.variable] ? row.parse!.safeParse(env[row.variable]) : undefined;
  if (parsed?.success) return parsed.data;
  if (parsed) problems.push({ variable: row.variable!, message: parsed.error.issues[0]!.message });
  return appEnv in row.overrides ? (row.overrides[appEnv] as T) : row.default;
}

/** Secrets left unset come from NAME_FILE (Docker, Kubernetes) or $CREDENTIALS_DIRECTORY/NAME (systemd). */
function resolveSecrets(env: NodeJS.ProcessEnv, names: string[], problems: Problem[]) {
  const resolved = { ...env };
  for (const name of names.filter((secret) => !env[secret])) {
    const file = env[`${name}_FILE`];
    const path = file || (env.CREDENTIALS_DIRECTORY && join(env.CREDENTIALS_DIRECTORY, name));
    try {
      if (path) resolved[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      if (file) problems.push({ variable: `${name}_FILE`, message: `cannot read ${file} (${reason})` });
    }
  }
  return resolved;
}

/** Reads ./.env into env where the environment allows; variables already set win. */
export function loadDotEnv(env: NodeJS.ProcessEnv = process.env, path = '.env'): void {
  if (!read(SETTINGS.readsDotEnv, {}, read(SETTINGS.appEnv, env, 'development')) || !existsSync(path)) return;
  for (const [name, value] of Object.entries(parseEnv(readFileSync(path, 'utf8')))) env[name] ||= value;
}

/** Validates the whole environment at once: the typed configuration, or one ConfigError naming every problem. */
export function loadConfig(rawEnv: NodeJS.ProcessEnv): Config {
  const problems: Problem[] = [];
  const appEnv = read(SETTINGS.appEnv, rawEnv, 'development', problems);
  if (problems.length > 0) throw new ConfigError(String(rawEnv.APP_ENV), problems);
  const env = resolveSecrets(rawEnv, SECRETS, problems);
  for (const name of Object.keys(env).filter((n) => /^FEATURE_/.test(n) && env[n] && !FEATURES.includes(n)))
    problems.push({ variable: name, message: `is not a feature flag: ${FEATURES.join(', ')}` });
  const config = map(SETTINGS, (row) => read(row, env, appEnv, problems)) as Config;
  // A variable that did not parse is named once, for that: not again as missing or insecure.
  const named = new Set(problems.map((p) => p.variable));
  const judged = [...settingConflicts(config), ...(config.strict ? insecureSettings(config, env) : [])];
  problems.push(...judged.filter((p) => !named.has(p.variable)));
  if (problems.length > 0) throw new ConfigError(appEnv, problems);
  return config;
}

/** What every entry point does first: .env where allowed, then the configuration, or exit 78 saying why. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    loadDotEnv(env);
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(EX_CONFIG);
  }
}
