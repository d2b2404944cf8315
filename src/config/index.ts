import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { APP_ENVS, type AppEnv, type BaseConfig, CONFIG_CLASSES } from './environments.js';
import { checkCorsOrigins, checkSecretKey, DEVELOPMENT_SECRET_KEY } from './insecure-settings.js';
import { resolveSecrets } from './secrets.js';

export type { AppEnv } from './environments.js';

/** Exit status for a bad configuration (sysexits.h EX_CONFIG): the supervisor should not restart-loop on it. */
export const EX_CONFIG = 78;

/** Typed feature flags (CFG-8): a FEATURE_* variable not listed here is an error, so a typo cannot pass. */
const FEATURE_FLAGS = {
  FEATURE_REGISTRATION: { default: true, describe: 'accept new sign-ups at POST /api/v1/auth/register' },
  FEATURE_OPENAPI: { default: true, describe: 'serve the OpenAPI document at /api/v1/openapi.json' },
  FEATURE_API_DOCS: {
    default: { development: true, testing: true, staging: false, production: false },
    describe: 'serve the interactive API docs at /api/v1/docs (needs FEATURE_OPENAPI)',
  },
} as const satisfies Record<string, { default: boolean | Record<AppEnv, boolean>; describe: string }>;
type FeatureName = keyof typeof FEATURE_FLAGS;
const featureKey = (name: FeatureName) =>
  name
    .slice('FEATURE_'.length)
    .toLowerCase()
    .replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

export interface Config {
  appEnv: AppEnv;
  strict: boolean;
  debug: boolean;
  secretKey: string;
  log: { level: string; pretty: boolean };
  http: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    trustProxy: boolean | number | string;
    requestTimeoutMs: number;
    headersTimeoutMs: number;
    keepAliveTimeoutMs: number;
    shutdownTimeoutMs: number;
  };
  cors: { origins: string[] };
  rateLimit: {
    windowMs: number;
    max: number;
    authWindowMs: number;
    authMax: number;
    redisUrl: string | undefined;
  };
  database: {
    url: string | undefined;
    poolMin: number;
    poolMax: number;
    slowQueryMs: number;
    preparedStatements: boolean;
    embeddedDir: string;
    migrateOnStart: boolean;
  };
  auth: { tokenTtlSeconds: number; cookieName: string; csrfCookieName: string };
  features: { registration: boolean; openapi: boolean; apiDocs: boolean };
  metrics: { host: string; port: number };
  sentry: { dsn: string | undefined; release: string | undefined };
  tracing: { endpoint: string | undefined; serviceName: string };
  build: { commit: string };
  webConcurrency: number;
}

export class ConfigError extends Error {
  constructor(
    readonly appEnv: string,
    readonly problems: { variable: string; message: string }[],
  ) {
    const lines = problems.map((p) => `  - ${p.variable}: ${p.message}`);
    super(
      `Configuration refused (APP_ENV=${appEnv}): ${problems.length} setting(s) to fix before the service can start:\n${lines.join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { error: 'must be true or false' }))
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));
const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { error: 'must be a whole number' })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` }),
    );
const port = int(0, 65535);
const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );
const originList = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(
      z.string().refine((o) => o === '*' || /^https?:\/\/[^/\s?#]+$/.test(o), {
        error: 'each origin must be scheme://host[:port] with no path, e.g. https://app.example.com',
      }),
    ),
  );

/**
 * TRUST_PROXY (SEC-2, PXY-5): how many proxies, or which addresses, may set X-Forwarded-For. Express then
 * takes the client IP from the right place and a client cannot spoof it. 'true' trusts anyone, so it is refused.
 */
const trustProxy = z
  .string()
  .trim()
  .transform((value, ctx): boolean | number | string => {
    if (value === 'false') return false;
    if (/^\d+$/.test(value)) return Number(value);
    const parts = value.split(',').map((p) => p.trim());
    const named = ['loopback', 'linklocal', 'uniquelocal'];
    if (parts.every((p) => named.includes(p) || isIP(p.split('/')[0] ?? '') !== 0)) return parts.join(',');
    ctx.addIssue({
      code: 'custom',
      message:
        "must be a hop count (1 behind one nginx), 'loopback', IP addresses/CIDRs, or 'false' with no proxy",
    });
    return z.NEVER;
  });

function settingsSchema(defaults: BaseConfig, appEnv: AppEnv) {
  // prefault parses the default like any input, so defaults pass through the same coercion and checks.
  const withDefault = <T extends z.ZodType<unknown, string>>(schema: T, value: unknown) =>
    schema.prefault(String(value) as never);
  return z.object({
    HOST: z.string().min(1).default(defaults.HOST),
    PORT: withDefault(port, defaults.PORT),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default(defaults.LOG_LEVEL as 'info'),
    DEBUG: withDefault(bool, defaults.DEBUG),
    SECRET_KEY: z.string().optional(),
    DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
    DATABASE_POOL_MIN: withDefault(int(0, 100), defaults.DATABASE_POOL_MIN),
    DATABASE_POOL_MAX: withDefault(int(1, 100), defaults.DATABASE_POOL_MAX),
    SLOW_QUERY_MS: withDefault(int(0, 600_000), defaults.SLOW_QUERY_MS),
    DATABASE_PREPARED_STATEMENTS: withDefault(bool, defaults.DATABASE_PREPARED_STATEMENTS),
    EMBEDDED_DB_DIR: z.string().default(defaults.EMBEDDED_DB_DIR),
    MIGRATE_ON_START: withDefault(bool, defaults.MIGRATE_ON_START),
    CORS_ORIGINS: originList.default([]),
    TRUST_PROXY: trustProxy.optional(),
    BODY_LIMIT_BYTES: withDefault(int(1_000, 10_000_000), defaults.BODY_LIMIT_BYTES),
    RATE_LIMIT_WINDOW_MS: withDefault(int(1_000, 86_400_000), defaults.RATE_LIMIT_WINDOW_MS),
    RATE_LIMIT_MAX: withDefault(int(1, 10_000_000), defaults.RATE_LIMIT_MAX),
    AUTH_RATE_LIMIT_WINDOW_MS: withDefault(int(1_000, 86_400_000), defaults.AUTH_RATE_LIMIT_WINDOW_MS),
    AUTH_RATE_LIMIT_MAX: withDefault(int(1, 10_000_000), defaults.AUTH_RATE_LIMIT_MAX),
    REDIS_URL: url(['redis:', 'rediss:']).optional(),
    TOKEN_TTL_SECONDS: withDefault(int(60, 30 * 86_400), defaults.TOKEN_TTL_SECONDS),
    REQUEST_TIMEOUT_MS: withDefault(int(100, 600_000), defaults.REQUEST_TIMEOUT_MS),
    HEADERS_TIMEOUT_MS: withDefault(int(100, 600_000), defaults.HEADERS_TIMEOUT_MS),
    KEEP_ALIVE_TIMEOUT_MS: withDefault(int(100, 600_000), defaults.KEEP_ALIVE_TIMEOUT_MS),
    SHUTDOWN_TIMEOUT_MS: withDefault(int(0, 600_000), defaults.SHUTDOWN_TIMEOUT_MS),
    METRICS_HOST: z.string().min(1).default(defaults.METRICS_HOST),
    METRICS_PORT: withDefault(port, defaults.METRICS_PORT),
    SENTRY_DSN: url(['https:', 'http:']).optional(),
    SENTRY_RELEASE: z.string().optional(),
    WEB_CONCURRENCY: int(1, 256).optional(),
    OTEL_EXPORTER_OTLP_ENDPOINT: url(['https:', 'http:']).optional(),
    OTEL_SERVICE_NAME: z.string().min(1).default(defaults.OTEL_SERVICE_NAME),
    GIT_COMMIT: z.string().trim().min(1).default('unknown'),
    ...Object.fromEntries(
      Object.entries(FEATURE_FLAGS).map(([name, flag]) => [
        name,
        withDefault(bool, typeof flag.default === 'boolean' ? flag.default : flag.default[appEnv]),
      ]),
    ),
  });
}

/** Every variable the configuration reads, for documentation checks (.env.example must list each). */
export const CONFIG_VARIABLES: readonly string[] = [
  'APP_ENV',
  ...Object.keys(settingsSchema(new CONFIG_CLASSES.development(), 'development').shape),
];

/** The refusals of staging and production, each naming its variable (CFG-1, CFG-2, SEC-1, DB-2). */
function insecureSettings(env: NodeJS.ProcessEnv) {
  const problems: { variable: string; message: string }[] = [];
  const refuse = (variable: string, message: string | undefined) =>
    message && problems.push({ variable, message });
  refuse('SECRET_KEY', checkSecretKey(env.SECRET_KEY));
  if (/^(true|1|yes|on)$/i.test(env.DEBUG ?? ''))
    refuse('DEBUG', 'must be off: it puts stack traces in responses');
  const origins = (env.CORS_ORIGINS ?? '').split(',').map((origin) => origin.trim());
  refuse('CORS_ORIGINS', checkCorsOrigins(origins));
  if (!env.DATABASE_URL) {
    refuse(
      'DATABASE_URL',
      'is missing; the embedded database is for development only (postgres://user:pass@host/db)',
    );
  }
  if (!env.TRUST_PROXY) {
    refuse(
      'TRUST_PROXY',
      "must be set: 1 behind one nginx, 'loopback', the proxy's addresses, or 'false' with none",
    );
  } else if (/^true$/i.test(env.TRUST_PROXY.trim())) {
    refuse('TRUST_PROXY', "'true' trusts any X-Forwarded-For a client sends; give a hop count or addresses");
  }
  return problems;
}

function readAppEnv(env: NodeJS.ProcessEnv): AppEnv {
  const value = env.APP_ENV ?? 'development';
  if ((APP_ENVS as readonly string[]).includes(value)) return value as AppEnv;
  throw new ConfigError(value, [{ variable: 'APP_ENV', message: `must be one of ${APP_ENVS.join(', ')}` }]);
}

/** Reads ./.env into env for development and testing only; variables already set win (CFG-4). */
export function loadDotEnv(env: NodeJS.ProcessEnv = process.env, path = '.env'): void {
  const defaults = new CONFIG_CLASSES[readAppEnv(env)]();
  if (!defaults.readsDotEnv || !existsSync(path)) return;
  for (const [name, value] of Object.entries(parseEnv(readFileSync(path, 'utf8')))) {
    env[name] ??= value;
  }
}

/**
 * Validates the whole environment at once (CFG-6) and returns the typed configuration, or throws one
 * ConfigError naming every bad variable.
 */
export function loadConfig(rawEnv: NodeJS.ProcessEnv): Config {
  const appEnv = readAppEnv(rawEnv);
  const defaults = new CONFIG_CLASSES[appEnv]();
  const { env, problems } = resolveSecrets(rawEnv);

  const unknownFlags = Object.keys(env).filter(
    (name) => name.startsWith('FEATURE_') && !(name in FEATURE_FLAGS),
  );
  for (const name of unknownFlags) {
    problems.push({
      variable: name,
      message: `is not a known feature flag; known: ${Object.keys(FEATURE_FLAGS).join(', ')}`,
    });
  }

  const parsed = settingsSchema(defaults, appEnv).safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ variable: String(issue.path[0]), message: issue.message });
    }
  }
  if (defaults.strict) {
    const named = new Set(problems.map((p) => p.variable));
    problems.push(...insecureSettings(env).filter((p) => !named.has(p.variable)));
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(appEnv, problems);

  const s = parsed.data as z.infer<ReturnType<typeof settingsSchema>> & Record<FeatureName, boolean>;
  return {
    appEnv,
    strict: defaults.strict,
    debug: s.DEBUG,
    secretKey: s.SECRET_KEY || DEVELOPMENT_SECRET_KEY,
    log: { level: s.LOG_LEVEL, pretty: defaults.prettyLogs },
    http: {
      host: s.HOST,
      port: s.PORT,
      bodyLimitBytes: s.BODY_LIMIT_BYTES,
      trustProxy: s.TRUST_PROXY ?? false,
      requestTimeoutMs: s.REQUEST_TIMEOUT_MS,
      headersTimeoutMs: s.HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: s.KEEP_ALIVE_TIMEOUT_MS,
      shutdownTimeoutMs: s.SHUTDOWN_TIMEOUT_MS,
    },
    cors: { origins: s.CORS_ORIGINS },
    rateLimit: {
      windowMs: s.RATE_LIMIT_WINDOW_MS,
      max: s.RATE_LIMIT_MAX,
      authWindowMs: s.AUTH_RATE_LIMIT_WINDOW_MS,
      authMax: s.AUTH_RATE_LIMIT_MAX,
      redisUrl: s.REDIS_URL,
    },
    database: {
      url: s.DATABASE_URL,
      poolMin: s.DATABASE_POOL_MIN,
      poolMax: s.DATABASE_POOL_MAX,
      slowQueryMs: s.SLOW_QUERY_MS,
      preparedStatements: s.DATABASE_PREPARED_STATEMENTS,
      embeddedDir: s.EMBEDDED_DB_DIR,
      migrateOnStart: s.MIGRATE_ON_START,
    },
    // The __Host- prefix pins the cookie to this exact host over HTTPS with Path=/ (SEC-7).
    auth: {
      tokenTtlSeconds: s.TOKEN_TTL_SECONDS,
      cookieName: defaults.strict ? '__Host-session' : 'session',
      csrfCookieName: defaults.strict ? '__Host-csrf' : 'csrf',
    },
    features: Object.fromEntries(
      (Object.keys(FEATURE_FLAGS) as FeatureName[]).map((name) => [featureKey(name), s[name]]),
    ) as Config['features'],
    metrics: { host: s.METRICS_HOST, port: s.METRICS_PORT },
    sentry: { dsn: s.SENTRY_DSN, release: s.SENTRY_RELEASE },
    tracing: { endpoint: s.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: s.OTEL_SERVICE_NAME },
    build: { commit: s.GIT_COMMIT },
    webConcurrency: s.WEB_CONCURRENCY ?? availableParallelism(),
  };
}
