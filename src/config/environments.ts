/**
 * Configuration classes, one per environment (CFG-5). BaseConfig holds every default with the reason for it;
 * each environment overrides only what differs from it. Values here are defaults: any of them can be changed
 * through the environment variable of the same name (see .env.example), without a code deploy (CFG-8).
 */
export const APP_ENVS = ['development', 'testing', 'staging', 'production'] as const;
export type AppEnv = (typeof APP_ENVS)[number];

export class BaseConfig {
  /** Refuse insecure settings (CFG-1, CFG-2). Only the environments that face real users do. */
  readonly strict: boolean = false;
  /** Read a local .env file: convenient on a laptop, never on a server (CFG-4). */
  readonly readsDotEnv: boolean = true;
  /** Pretty, coloured log lines for a human at a terminal; JSON everywhere else (OBS-1). */
  readonly prettyLogs: boolean = false;

  /** Loopback: the app sits behind nginx, which is the only thing that should reach it (SRV-5). */
  readonly HOST: string = '127.0.0.1';
  readonly PORT: number = 3000;
  readonly LOG_LEVEL: string = 'info';
  /** Adds the exception's message and stack to 500 responses; only development may turn it on (CFG-1). */
  readonly DEBUG: boolean = false;
  /** Run pending migrations when the process starts. Servers migrate as a deploy step instead (DB-1). */
  readonly MIGRATE_ON_START: boolean = false;
  /** Small pools: PostgreSQL's max_connections is shared by every process of every replica (DB-3). */
  readonly DATABASE_POOL_MIN: number = 0;
  readonly DATABASE_POOL_MAX: number = 10;
  /**
   * The hottest queries run as named prepared statements, parsed and planned once per connection. Turn off
   * behind a pooler that cannot keep them (PgBouncer before 1.21 in transaction mode); the embedded
   * database always runs without them.
   */
  readonly DATABASE_PREPARED_STATEMENTS: boolean = true;
  /** Queries at least this slow are logged at warn with their SQL, never their values (DB-7); 0 is off. */
  readonly SLOW_QUERY_MS: number = 250;
  /** Where the embedded PostgreSQL (PGlite) keeps its files when DATABASE_URL is not set. */
  readonly EMBEDDED_DB_DIR: string = '.data/pglite';
  /** 100 kB covers any note (10,000 characters of 4-byte UTF-8 is 40 kB) with room to spare (SEC-15). */
  readonly BODY_LIMIT_BYTES: number = 100_000;
  /** General limit per client IP: generous for a real client, a wall for a scraper (SEC-2). */
  readonly RATE_LIMIT_WINDOW_MS: number = 60_000;
  readonly RATE_LIMIT_MAX: number = 300;
  /** Credential stuffing is slow when each IP+email pair gets a handful of tries a quarter hour (SEC-2). */
  readonly AUTH_RATE_LIMIT_WINDOW_MS: number = 15 * 60_000;
  readonly AUTH_RATE_LIMIT_MAX: number = 10;
  /** One working day; a stolen token is worthless after it, and logout revokes it sooner. */
  readonly TOKEN_TTL_SECONDS: number = 8 * 60 * 60;
  /** Handler time budget; a request over it gets 503 rather than holding a connection open. */
  readonly REQUEST_TIMEOUT_MS: number = 15_000;
  /** Longer than nginx's upstream keepalive_timeout (60 s), so nginx never reuses a closed socket (SRV-3). */
  readonly KEEP_ALIVE_TIMEOUT_MS: number = 65_000;
  readonly HEADERS_TIMEOUT_MS: number = 10_000;
  readonly SHUTDOWN_TIMEOUT_MS: number = 10_000;
  readonly METRICS_HOST: string = '127.0.0.1';
  readonly METRICS_PORT: number = 9464;
  /** The service.name on every span (OBS-8); one name for every replica, so traces group by service. */
  readonly OTEL_SERVICE_NAME: string = 'shipshape';
}

export class DevelopmentConfig extends BaseConfig {
  override readonly prettyLogs = true;
  override readonly LOG_LEVEL = 'debug';
  override readonly MIGRATE_ON_START = true;
}

export class TestingConfig extends BaseConfig {
  override readonly LOG_LEVEL = 'silent';
  override readonly MIGRATE_ON_START = true;
  override readonly EMBEDDED_DB_DIR = '';
  /** Suites log in hundreds of times from one address; the limiter tests set their own small limits. */
  override readonly RATE_LIMIT_MAX = 1_000_000;
  override readonly AUTH_RATE_LIMIT_MAX = 1_000_000;
}

export class StagingConfig extends BaseConfig {
  override readonly strict = true;
  override readonly readsDotEnv = false;
}

export class ProductionConfig extends StagingConfig {
  override readonly LOG_LEVEL = 'info';
}

export const CONFIG_CLASSES: Record<AppEnv, new () => BaseConfig> = {
  development: DevelopmentConfig,
  testing: TestingConfig,
  staging: StagingConfig,
  production: ProductionConfig,
};
