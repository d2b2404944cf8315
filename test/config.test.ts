import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { CONFIG_VARIABLES, ConfigError, EX_CONFIG, loadConfig, loadDotEnv } from '../src/config';
import { createLogger } from '../src/observability/logger';
import { startMetricsServer } from '../src/observability/metrics-server';
import { freePort } from './support/net';
import { runScript, TSX_CLI } from './support/processes';
import { waitFor } from './support/waiting';

const strongKey = () => randomBytes(48).toString('base64url');
const production = (env: Record<string, string | undefined> = {}) => ({
  APP_ENV: 'production',
  SECRET_KEY: strongKey(),
  DATABASE_URL: 'postgres://app:pw@db.internal:5432/app',
  TRUST_PROXY: '1',
  ...env,
});

/** The variables a ConfigError names, so a test can check that every bad one is reported at once. */
function refusedVariables(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.variable).sort();
    throw error;
  }
  return [];
}

describe('configuration classes (CFG-5)', () => {
  test('when APP_ENV is unset, then development defaults apply: loopback, debug logs, migrations on start', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      appEnv: 'development',
      strict: false,
      http: { host: '127.0.0.1', port: 3000, bodyLimitBytes: 100_000 },
      log: { level: 'debug', pretty: true },
      database: { url: undefined, migrateOnStart: true, embeddedDir: '.data/pglite' },
      features: { registration: true, openapi: true },
    });
  });

  test('when production is configured soundly, then it loads with strict defaults', () => {
    const config = loadConfig(production());
    expect(config).toMatchObject({
      appEnv: 'production',
      strict: true,
      debug: false,
      log: { level: 'info', pretty: false },
      database: { migrateOnStart: false },
      http: { trustProxy: 1 },
      auth: { cookieName: '__Host-session' },
    });
  });

  test('when APP_ENV names no environment, then it is refused', () => {
    expect(refusedVariables({ APP_ENV: 'prod' })).toEqual(['APP_ENV']);
  });
});

describe('settings that contradict each other', () => {
  test('when unverified accounts are to be purged but may log in, then every environment refuses it naming the variable', () => {
    for (const env of [{}, production()])
      expect(refusedVariables({ ...env, UNVERIFIED_ACCOUNT_RETENTION_DAYS: '30' })).toEqual([
        'UNVERIFIED_ACCOUNT_RETENTION_DAYS',
      ]);
  });

  test('when unverified accounts are purged and may not log in, then it loads; production requires no verification by default', () => {
    const config = loadConfig(
      production({ REQUIRE_VERIFIED_EMAIL: 'true', UNVERIFIED_ACCOUNT_RETENTION_DAYS: '30' }),
    );
    expect(config.auth).toMatchObject({ requireVerifiedEmail: true, unverifiedAccountRetentionDays: 30 });
    expect(loadConfig(production()).auth).toMatchObject({
      requireVerifiedEmail: false,
      unverifiedAccountRetentionDays: 0,
    });
  });
});

describe('production and staging refuse insecure settings (CFG-1, CFG-2, CFG-6, SEC-1)', () => {
  test.each(['production', 'staging'])(
    'when %s gets nothing, then one error names every missing variable',
    (appEnv) => {
      expect(refusedVariables({ APP_ENV: appEnv })).toEqual(['DATABASE_URL', 'SECRET_KEY', 'TRUST_PROXY']);
    },
  );

  test.each([
    ['missing', undefined],
    ['short', randomBytes(12).toString('hex')],
    ['well-known', 'changeme'],
    ['the development default', 'insecure-development-key-never-use-in-production'],
    ['low-entropy', 'ab'.repeat(24)],
    ['one repeated character', 'x'.repeat(64)],
  ])('when SECRET_KEY is %s, then it is refused', (_kind, key) => {
    expect(refusedVariables(production({ SECRET_KEY: key }))).toEqual(['SECRET_KEY']);
  });

  test.each([
    ['DEBUG', 'true'],
    ['CORS_ORIGINS', '*'],
    ['CORS_ORIGINS', 'https://app.example.com,http://admin.example.com'],
    ['TRUST_PROXY', 'true'],
    ['TRUST_PROXY', 'everyone'],
    ['DATABASE_URL', 'mysql://x@y/z'],
  ])('when %s=%s, then it is refused', (variable, value) => {
    expect(refusedVariables(production({ [variable]: value }))).toEqual([variable]);
  });

  test('when several settings are bad, then the message names each of them with how to fix it', () => {
    const env = production({
      SECRET_KEY: 'short',
      DEBUG: '1',
      CORS_ORIGINS: '*',
      PORT: 'eighty',
      DATABASE_URL: undefined,
    });
    let message = '';
    try {
      loadConfig(env);
    } catch (error) {
      message = (error as Error).message;
    }
    for (const variable of ['SECRET_KEY', 'DEBUG', 'CORS_ORIGINS', 'PORT', 'DATABASE_URL']) {
      expect(message).toMatch(new RegExp(`- ${variable}: \\S`));
    }
    expect(message).toContain('randomBytes(48)');
  });

  test('when development uses the same lax settings, then they are accepted', () => {
    expect(
      refusedVariables({ APP_ENV: 'development', DEBUG: 'true', CORS_ORIGINS: 'http://localhost:5173' }),
    ).toEqual([]);
  });

  test.each([
    ['PORT', '70000'],
    ['RATE_LIMIT_MAX', '0'],
    ['BODY_LIMIT_BYTES', 'lots'],
    ['LOG_LEVEL', 'verbose'],
    ['DEBUG', 'maybe'],
    ['REDIS_URL', 'http://cache'],
  ])('when %s=%s in any environment, then it is refused by name', (variable, value) => {
    expect(refusedVariables({ APP_ENV: 'development', [variable]: value })).toEqual([variable]);
  });
});

describe('the attachment store', () => {
  const s3 = { UPLOAD_STORE: 's3', S3_BUCKET: 'shipshape-files', S3_REGION: 'eu-west-1' };

  test('when UPLOAD_STORE=s3 is configured, then the typed settings carry the bucket and a short download URL life', () => {
    expect(loadConfig(s3).uploads).toMatchObject({
      store: 's3',
      s3: {
        bucket: 'shipshape-files',
        region: 'eu-west-1',
        forcePathStyle: false,
        downloadUrlTtlSeconds: 60,
      },
    });
  });

  test('when UPLOAD_STORE=s3 comes without a bucket or region, then each is named as required, in every environment', () => {
    expect(refusedVariables({ UPLOAD_STORE: 's3' })).toEqual(['S3_BUCKET', 'S3_REGION']);
    expect(refusedVariables(production({ UPLOAD_STORE: 's3', S3_REGION: 'eu-west-1' }))).toEqual([
      'S3_BUCKET',
    ]);
    expect(refusedVariables({ S3_REGION: 'eu-west-1' })).toEqual([]);
  });

  test.each([
    ['UPLOAD_STORE', 'gcs'],
    ['S3_BUCKET', 'My_Bucket'],
    ['S3_ENDPOINT', 'minio:9000'],
    ['S3_DOWNLOAD_URL_TTL_SECONDS', '86400'],
  ])('when %s=%s, then it is refused once, by name', (variable, value) => {
    expect(refusedVariables({ ...s3, [variable]: value })).toEqual([variable]);
  });

  test('when production points UPLOAD_STORE=s3 at a plain http:// endpoint, then it is refused; development accepts it', () => {
    const endpoint = { ...s3, S3_ENDPOINT: 'http://minio.internal:9000', S3_FORCE_PATH_STYLE: 'true' };
    expect(refusedVariables(production(endpoint))).toEqual(['S3_ENDPOINT']);
    expect(refusedVariables(production({ ...endpoint, S3_ENDPOINT: 'https://minio.example.com' }))).toEqual(
      [],
    );
    expect(refusedVariables(endpoint)).toEqual([]);
  });
});

describe('secrets from files (CFG-3, CFG-7)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-secrets-'));

  test('when SECRET_KEY_FILE points at a Docker secret, then the key is read from it without its newline', () => {
    const key = strongKey();
    writeFileSync(join(dir, 'secret_key'), `${key}\n`);
    const config = loadConfig(
      production({ SECRET_KEY: undefined, SECRET_KEY_FILE: join(dir, 'secret_key') }),
    );
    expect(config.secretKey).toBe(key);
  });

  test('when systemd passes credentials, then SECRET_KEY and DATABASE_URL come from $CREDENTIALS_DIRECTORY', () => {
    const key = strongKey();
    writeFileSync(join(dir, 'SECRET_KEY'), key);
    writeFileSync(join(dir, 'DATABASE_URL'), 'postgres://cred@db/app');
    const config = loadConfig(
      production({ SECRET_KEY: undefined, DATABASE_URL: undefined, CREDENTIALS_DIRECTORY: dir }),
    );
    expect(config.secretKey).toBe(key);
    expect(config.database.url).toBe('postgres://cred@db/app');
  });

  test('when a *_FILE cannot be read, then the variable is named', () => {
    expect(
      refusedVariables(production({ SECRET_KEY: undefined, SECRET_KEY_FILE: join(dir, 'absent') })),
    ).toEqual(['SECRET_KEY', 'SECRET_KEY_FILE']);
  });
});

describe('feature flags (CFG-8)', () => {
  test('when a known flag is switched off, then the typed setting says so', () => {
    expect(loadConfig({ FEATURE_REGISTRATION: 'off' }).features.registration).toBe(false);
  });

  test('when an unknown FEATURE_ variable is set, then the typo is refused', () => {
    expect(refusedVariables({ FEATURE_REGISTRATON: 'false' })).toEqual(['FEATURE_REGISTRATON']);
  });
});

describe('.env files (CFG-4)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-dotenv-'));
  const file = join(dir, '.env');
  writeFileSync(file, 'LOG_LEVEL=trace\nPORT=4000\n');

  test('when production starts beside a .env file, then it is not read', () => {
    const env: NodeJS.ProcessEnv = { APP_ENV: 'production' };
    loadDotEnv(env, file);
    expect(env).toEqual({ APP_ENV: 'production' });
  });

  test('when development starts beside a .env file, then it is read and real variables win', () => {
    const env: NodeJS.ProcessEnv = { APP_ENV: 'development', PORT: '5000' };
    loadDotEnv(env, file);
    expect(env).toEqual({ APP_ENV: 'development', PORT: '5000', LOG_LEVEL: 'trace' });
  });
});

describe('start-up with a bad configuration (CFG-6)', () => {
  test('when production starts with insecure settings, then it exits 78 naming each variable before opening a port', async () => {
    const result = await runScript('src/main.ts', [], {
      APP_ENV: 'production',
      SECRET_KEY: 'changeme',
      DEBUG: 'true',
      PORT: '1',
    });
    expect(result.status).toBe(EX_CONFIG);
    for (const variable of ['SECRET_KEY', 'DEBUG', 'DATABASE_URL', 'TRUST_PROXY']) {
      expect(result.stderr).toContain(`- ${variable}:`);
    }
    // Port 1 needs root to bind; a config check that ran after listen() would fail differently.
    expect(result.stderr).not.toMatch(/EACCES|listen/);
  });
});

describe('.env.example (CFG-4)', () => {
  const example = readFileSync('.env.example', 'utf8');
  const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));

  test('when the configuration reads a variable, then .env.example documents it', () => {
    expect(CONFIG_VARIABLES.filter((name) => !documented.has(name))).toEqual([]);
  });

  test('when .env.example documents a variable, then the configuration reads it (none extra)', () => {
    expect([...documented].filter((name) => !CONFIG_VARIABLES.includes(name))).toEqual([]);
  });

  test('when .env.example is copied as it is, then the configuration is the development default', () => {
    expect(loadConfig(parseEnv(example))).toEqual(loadConfig({}));
  });
});

describe('empty variables', () => {
  test('when a variable is empty (SENTRY_DSN=), then it means unset and its default applies', () => {
    const config = loadConfig({ SENTRY_DSN: '', PORT: '', DEBUG: '', FEATURE_REGISTRATION: '', HOST: '' });
    expect(config).toEqual(loadConfig({}));
    expect(config.sentry.dsn).toBeUndefined();
  });

  test('when production gets empty secrets, then they are refused as missing, not as malformed', () => {
    const error = (() => {
      try {
        loadConfig(production({ SECRET_KEY: '', DATABASE_URL: '', TRUST_PROXY: '' }));
      } catch (caught) {
        return caught as ConfigError;
      }
    })();
    expect(error?.problems.map((p) => p.variable).sort()).toEqual([
      'DATABASE_URL',
      'SECRET_KEY',
      'TRUST_PROXY',
    ]);
    expect(error?.message).toMatch(/- DATABASE_URL: is missing/);
    expect(error?.message).toMatch(/- SECRET_KEY: is missing/);
  });

  test('when SECRET_KEY is empty beside SECRET_KEY_FILE, then the file is read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-empty-'));
    const key = strongKey();
    writeFileSync(join(dir, 'key'), key);
    expect(loadConfig(production({ SECRET_KEY: '', SECRET_KEY_FILE: join(dir, 'key') })).secretKey).toBe(key);
  });
});

describe('API docs flag', () => {
  test.each([
    ['development', true],
    ['testing', true],
    ['staging', false],
    ['production', false],
  ])('when APP_ENV=%s leaves FEATURE_API_DOCS unset, then features.apiDocs is %s', (appEnv, on) => {
    expect(loadConfig(production({ APP_ENV: appEnv })).features.apiDocs).toBe(on);
  });

  test('when production sets FEATURE_API_DOCS=true, then the docs are on', () => {
    expect(loadConfig(production({ FEATURE_API_DOCS: 'true' })).features.apiDocs).toBe(true);
  });
});

describe('a busy metrics port', () => {
  const silent = createLogger({ level: 'silent', pretty: false });
  const metricsSource = { contentType: 'text/plain', collect: async () => '' };
  let blocker: ReturnType<typeof createServer>;
  let busyPort: number;

  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    busyPort = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise((resolve) => blocker.close(resolve)));

  test('when METRICS_PORT is taken in development, then the server still starts, serves, and logs where metrics went', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [TSX_CLI, 'src/main.ts'], {
      env: {
        PATH: process.env.PATH,
        APP_ENV: 'development',
        PORT: String(port),
        METRICS_PORT: String(busyPort),
        EMBEDDED_DB_DIR: 'memory',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const ready = await waitFor(
        'the development server to serve',
        async () =>
          child.exitCode === null
            ? (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200 || undefined
            : false,
        { timeoutMs: 90_000 },
      );
      expect({ ready, output }).toMatchObject({ ready: true });
      const moved = await waitFor(
        'the log line naming the new metrics port',
        async () =>
          new RegExp(
            `METRICS_PORT ${busyPort} is busy: metrics moved to (http://127\\.0\\.0\\.1:(\\d+)/metrics)`,
          ).exec(output) ?? undefined,
        { timeoutMs: 10_000 },
      );
      expect(Number(moved[2])).not.toBe(busyPort);
      const metrics = await fetch(moved[1]!);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('shipshape_build_info');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 120_000);

  test('when METRICS_PORT is taken outside development, then starting the metrics server fails rather than move', async () => {
    await expect(
      startMetricsServer(metricsSource, { host: '127.0.0.1', port: busyPort, anyPortIfBusy: false }, silent),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    for (const appEnv of ['testing', 'staging', 'production'])
      expect(loadConfig(production({ APP_ENV: appEnv })).metrics.anyPortIfBusy).toBe(false);
  });
});
