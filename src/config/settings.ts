import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { type ZodType, z } from 'zod';

export const APP_ENVS = ['development', 'testing', 'staging', 'production'] as const;
export type AppEnv = (typeof APP_ENVS)[number];
type PerEnv<T> = Partial<Record<AppEnv, T>>;

/**
 * A row of the table: the variable it is read from (none: fixed per environment), how its text is parsed,
 * the default, and what an environment changes about it; the comment on each row says why. A secret may also
 * come from NAME_FILE or $CREDENTIALS_DIRECTORY/NAME, so it need not sit in the environment.
 */
type Setting<T> = { variable?: string; parse?: ZodType<T>; default: T; overrides: PerEnv<T>; secret?: true };

export type { Setting };

const env = <T>(name: string, parse: ZodType<T>, value: NoInfer<T>, overrides: PerEnv<NoInfer<T>> = {}) =>
  ({ variable: name, parse, default: value, overrides }) as Setting<T>;
const fixed = <T>(value: T, overrides: PerEnv<NoInfer<T>>): Setting<T> => ({ default: value, overrides });
const secret = <T>(setting: Setting<T>): Setting<T> => ({ ...setting, secret: true });
/** Staging and production face real users; development and testing do not. */
const strict = <T>(value: T): PerEnv<T> => ({ staging: value, production: value });

const bool = z.stringbool({ error: 'must be true or false' });
const whole = z.stringFormat('whole number', /^\s*\d+\s*$/, 'must be a whole number').transform(Number);
const int = (min: number, max: number) =>
  whole.pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
const port = int(0, 65535);
const ms = int(100, 600_000);
function url(...schemes: string[]) {
  const error = `must be a URL starting with ${schemes.map((scheme) => `${scheme}://`).join(' or ')}`;
  return z.url({ protocol: new RegExp(`^(${schemes.join('|')})$`), error }).optional();
}
const origin = z.string().regex(/^(\*|https?:\/\/[^/\s?#]+)$/, 'must be scheme://host[:port], no path');
const commaList = (list: string) => list.split(',').flatMap((item) => item.trim() || []);
const origins = z.preprocess(commaList, z.array(origin));
const directory = z.string().transform((dir) => (dir === 'memory' ? '' : dir));
const proxy = (p: string) => /^(loopback|linklocal|uniquelocal)$/.test(p) || isIP(p.split('/')[0]!) !== 0;
const proxies = z.string().transform((value, ctx): boolean | number | string => {
  const list = value.split(',').map((p) => p.trim());
  if (/^(false|\d+)$/.test(value.trim())) return value.trim() === 'false' ? false : Number(value);
  if (list.every(proxy)) return list.join(',');
  ctx.addIssue({ code: 'custom', message: "must be a hop count, 'loopback', IPs/CIDRs, or 'false'" });
  return z.NEVER;
});
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const DEVELOPMENT_SECRET_KEY = 'insecure-development-key-never-use-in-production';

/** Every setting, once, in the shape of the typed configuration (Config is derived from it). */
export const SETTINGS = {
  appEnv: env('APP_ENV', z.enum(APP_ENVS, { error: `must be one of ${APP_ENVS.join(', ')}` }), 'development'), // which overrides apply
  strict: fixed(false, strict(true)), // refuse insecure settings (insecure-settings.ts) where real users are
  readsDotEnv: fixed(true, strict(false)), // a .env file is a convenience on a laptop, never on a server
  debug: env('DEBUG', bool, false), // 500 responses carry the error's message and stack: refused where strict
  secretKey: secret(env('SECRET_KEY', z.string(), DEVELOPMENT_SECRET_KEY, strict(''))), // signs CSRF tokens; a built-in key only off-strict
  log: {
    level: env('LOG_LEVEL', logLevel, 'info', { development: 'debug', testing: 'silent' }), // debug at a terminal
    pretty: fixed(false, { development: true }), // coloured lines for a human at a terminal; JSON for machines
  },
  http: {
    host: env('HOST', z.string(), '127.0.0.1'), // loopback: nginx is the only client that should reach the app
    port: env('PORT', port, 3000),
    bodyLimitBytes: env('BODY_LIMIT_BYTES', int(1_000, 10_000_000), 100_000), // any note (40 kB at most) with room
    trustProxy: env('TRUST_PROXY', proxies, false), // who may set X-Forwarded-For (client IPs): required where strict
    requestTimeoutMs: env('REQUEST_TIMEOUT_MS', ms, 15_000), // then 503, rather than hold a connection open
    headersTimeoutMs: env('HEADERS_TIMEOUT_MS', ms, 10_000), // cuts a slowloris header trickle
    keepAliveTimeoutMs: env('KEEP_ALIVE_TIMEOUT_MS', ms, 65_000), // > nginx's keepalive (60 s): no closed socket reused
    shutdownTimeoutMs: env('SHUTDOWN_TIMEOUT_MS', int(0, 600_000), 10_000), // for in-flight requests to finish on stop
  },
  cors: { origins: env('CORS_ORIGINS', origins, []) }, // browser origins allowed with credentials; https where strict
  rateLimit: {
    windowMs: env('RATE_LIMIT_WINDOW_MS', int(1_000, 86_400_000), 60_000), // per client IP: ample for a real client,
    max: env('RATE_LIMIT_MAX', int(1, 10_000_000), 300, { testing: 1_000_000 }), // a wall for a scraper (tests: off)
    authWindowMs: env('AUTH_RATE_LIMIT_WINDOW_MS', int(1_000, 86_400_000), 900_000), // per IP and email, so credential
    authMax: env('AUTH_RATE_LIMIT_MAX', int(1, 10_000_000), 10, { testing: 1_000_000 }), // stuffing gets a few tries
    redisUrl: secret(env('REDIS_URL', url('redis', 'rediss'), undefined)), // one count across processes and replicas
  },
  database: {
    url: secret(env('DATABASE_URL', url('postgres', 'postgresql'), undefined)), // unset: embedded PGlite; strict: refused
    poolMin: env('DATABASE_POOL_MIN', int(0, 100), 0), // small pools: every process of every replica
    poolMax: env('DATABASE_POOL_MAX', int(1, 100), 10), // shares PostgreSQL's max_connections
    slowQueryMs: env('SLOW_QUERY_MS', int(0, 600_000), 250), // slower queries are logged (SQL, never values); 0: off
    preparedStatements: env('DATABASE_PREPARED_STATEMENTS', bool, true), // off behind PgBouncer < 1.21 (transaction)
    embeddedDir: env('EMBEDDED_DB_DIR', directory, '.data/pglite', { testing: '' }), // PGlite's; ''/'memory': no files
    migrateOnStart: env('MIGRATE_ON_START', bool, false, { development: true, testing: true }), // servers: a deploy step
  },
  auth: {
    tokenTtlSeconds: env('TOKEN_TTL_SECONDS', int(60, 30 * 86_400), 8 * 60 * 60), // a working day; logout is sooner
    cookieName: fixed('session', strict('__Host-session')), // __Host-: this exact host, HTTPS only, Path=/
    csrfCookieName: fixed('csrf', strict('__Host-csrf')),
  },
  features: {
    registration: env('FEATURE_REGISTRATION', bool, true), // accept new sign-ups at POST /api/v1/auth/register
    openapi: env('FEATURE_OPENAPI', bool, true), // serve the OpenAPI document at /api/v1/openapi.json
    apiDocs: env('FEATURE_API_DOCS', bool, true, strict(false)), // serve interactive API docs at /api/v1/docs
  },
  metrics: {
    host: env('METRICS_HOST', z.string(), '127.0.0.1'), // a listener of its own: no proxy rule can expose it
    port: env('METRICS_PORT', port, 9464), // OpenTelemetry's Prometheus exporter port
    anyPortIfBusy: fixed(false, { development: true }), // two clones of the starter on one laptop both run
  },
  sentry: {
    dsn: secret(env('SENTRY_DSN', url('https', 'http'), undefined)), // unset: no error tracking
    release: env('SENTRY_RELEASE', z.string().optional(), undefined), // unset: shipshape@<version>
  },
  tracing: {
    endpoint: env('OTEL_EXPORTER_OTLP_ENDPOINT', url('https', 'http'), undefined), // OTLP/HTTP collector; unset: off
    serviceName: env('OTEL_SERVICE_NAME', z.string(), 'shipshape'), // one name for every replica: traces group
  },
  build: { commit: env('GIT_COMMIT', z.string().trim().min(1), 'unknown') }, // in the shipshape_build_info metric
  webConcurrency: env('WEB_CONCURRENCY', int(1, 256), availableParallelism()), // workers under the cluster primary
};

/** The typed value of a table (or of one setting). */
export type Values<T> = T extends Setting<infer V> ? V : { [K in keyof T]: Values<T[K]> };
