import { isIP } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
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
/** S3's bucket naming rules, which S3-compatible servers share. */
const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be 3 to 63 lowercase letters, digits, dots and hyphens')
  .optional();
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
    replicaUrl: secret(env('DATABASE_REPLICA_URL', url('postgres', 'postgresql'), undefined)), // reads that tolerate lag; unset: primary only
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
    lockoutThreshold: env('LOGIN_LOCKOUT_THRESHOLD', int(3, 1000), 10), // failed logins in a row that lock an account
    lockoutMinutes: env('LOGIN_LOCKOUT_MINUTES', int(1, 1440), 15), // whatever the attacker's number of addresses
    resetTokenTtlMinutes: env('PASSWORD_RESET_TTL_MINUTES', int(5, 1440), 30), // a mailed token: short-lived, single use
    appUrl: env('APP_URL', url('https', 'http'), undefined), // the product's address, for links in mail; unset: the token alone
    sessionRetentionDays: env('SESSION_RETENTION_DAYS', int(1, 3650), 30), // ended sessions kept for an inquiry, then purged
    emailConfirmationTtlHours: env('EMAIL_CONFIRMATION_TTL_HOURS', int(1, 720), 48), // a link proving an address (sign-up, change): mail can lag
    requireVerifiedEmail: env('REQUIRE_VERIFIED_EMAIL', bool, false), // unverified accounts may not log in; off everywhere by default: it needs mail that arrives
    sessionCacheSeconds: env('SESSION_CACHE_SECONDS', int(0, 300), 10, { testing: 0 }), // sessions read from memory at most this long; revocations reach every process by NOTIFY; 0: off
    unverifiedAccountRetentionDays: env('UNVERIFIED_ACCOUNT_RETENTION_DAYS', int(0, 3650), 0), // never-verified accounts purged after; 0: never
  },
  uploads: {
    store: env('UPLOAD_STORE', z.enum(['local', 's3'], { error: "must be 'local' or 's3'" }), 'local'), // where files live
    dir: env('UPLOAD_DIR', z.string().min(1), '.data/uploads', {
      testing: join(tmpdir(), 'shipshape-test-uploads'),
      ...strict('/var/lib/shipshape/uploads'),
    }), // outside the release: deploys replace the code, never the files; backed up by backup-files.sh
    maxBytes: env('UPLOAD_MAX_BYTES', int(1_000, 1_000_000_000), 10_000_000), // per attachment, cut while streaming
    accelPrefix: env(
      'UPLOAD_ACCEL_PREFIX',
      z
        .string()
        .regex(/^(off|\/[\w/-]*\/)$/, "must be a path like /_uploads/, or 'off'")
        .transform((prefix) => (prefix === 'off' ? undefined : prefix))
        .optional(),
      undefined,
      strict('/_uploads/'),
    ), // nginx sends downloads; 'off' where no nginx can read UPLOAD_DIR (compose, Kubernetes)
    s3: {
      bucket: env('S3_BUCKET', bucketName, undefined), // UPLOAD_STORE=s3: required; credentials from the AWS SDK's chain
      region: env('S3_REGION', z.string().trim().min(1).optional(), undefined), // the bucket's; us-east-1 for most S3-compatible servers
      endpoint: env('S3_ENDPOINT', url('https', 'http'), undefined), // an S3-compatible server; unset: AWS. https where strict
      forcePathStyle: env('S3_FORCE_PATH_STYLE', bool, false), // host/bucket/key URLs: what MinIO, Ceph and Swift expect
      downloadUrlTtlSeconds: env('S3_DOWNLOAD_URL_TTL_SECONDS', int(10, 3_600), 60), // a download's redirect: followed at once
    },
  },
  features: {
    registration: env('FEATURE_REGISTRATION', bool, true), // accept new sign-ups at POST /api/v1/auth/register
    openapi: env('FEATURE_OPENAPI', bool, true), // serve the OpenAPI document at /api/v1/openapi.json
    apiDocs: env('FEATURE_API_DOCS', bool, true, strict(false)), // serve interactive API docs at /api/v1/docs
  },
  jobs: {
    enabled: env('JOBS_ENABLED', bool, true), // each worker also runs background jobs; false: a web-only process
    pollIntervalMs: env('JOBS_POLL_INTERVAL_MS', int(500, 60_000), 2_000), // how soon an idle worker sees a new job
    batchSize: env('JOBS_BATCH_SIZE', int(1, 100), 10), // jobs a worker fetches and runs at once, per job type
    retryLimit: env('JOBS_RETRY_LIMIT', int(0, 100), 5), // retries after the first attempt, then the dead-letter queue
    retryDelaySeconds: env('JOBS_RETRY_DELAY_SECONDS', int(1, 3_600), 10), // first retry's delay; doubles each time
    expireSeconds: env('JOBS_EXPIRE_SECONDS', int(5, 86_400), 900), // a job running longer was lost with its process: retried
    purgeSessionsCron: env('JOBS_PURGE_SESSIONS_CRON', z.string().trim().min(9), '17 * * * *'), // hourly, once across processes
  },
  mail: {
    smtpUrl: secret(env('MAIL_SMTP_URL', url('smtp', 'smtps'), undefined)), // the relay; unset: the outbox folder
    outboxDir: env('MAIL_OUTBOX_DIR', z.string().min(1), '.data/outbox'), // development: .eml files to open
    from: env('MAIL_FROM', z.string().min(3), 'shipshape <no-reply@localhost>'), // the sender of every message
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
