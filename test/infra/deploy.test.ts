import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Knex } from '../../src/db/knex';
import { shippedMigrations } from '../../src/db/migrations';
import { freePort } from '../support/net';
import { type CommandResult, REPO, run, runOk, terminatePid } from '../support/processes';
import { waitFor } from '../support/waiting';
import { writeHostEnvFile } from './support/app';
import { send } from './support/http';
import { connect, freshDatabase } from './support/postgres';

/**
 * The deploy drill, for real in a temporary root: deploy.sh builds each version from a git
 * repository, migrates a PostgreSQL 15 database, switches `current`, reloads and smoke-tests; rollback.sh goes
 * back. The only stand-in is systemctl's reload-or-restart: it does what the unit does (ExecStart the first time,
 * ExecReload=kill -HUP $MAINPID after), since there is no systemd to ask here.
 */
jest.setTimeout(600_000);

const work = mkdtempSync(join(tmpdir(), 'shipshape-deploy-'));
const root = join(work, 'srv');
const source = join(work, 'source');
const bin = join(work, 'bin');
const envFile = join(work, 'shipshape.env');
const pidFile = join(work, 'shipshape.pid');
const appLog = join(work, 'app.log');
let port: number;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let db: Knex;

const DRILL_MIGRATION = '29991231000000_release_drill.js';

const STUB_SYSTEMCTL = `#!/usr/bin/env bash
# Test stand-in for systemctl, for the reload call only: what shipshape.service does on reload-or-restart.
set -euo pipefail
[ "$1" = reload-or-restart ] || { echo "stub systemctl: only reload-or-restart is stubbed, not: $*" >&2; exit 1; }
if [ -f "$STUB_PIDFILE" ] && kill -0 "$(cat "$STUB_PIDFILE")" 2>/dev/null; then
  kill -HUP "$(cat "$STUB_PIDFILE")"   # ExecReload=/bin/kill -HUP $MAINPID
  echo sighup >>"$STUB_PIDFILE.reloads"
  exit 0
fi
# ExecStart, with WorkingDirectory= and EnvironmentFile= as the unit sets them.
cd "$SHIPSHAPE_ROOT/current"
set -a; . "$SHIPSHAPE_ENV_FILE"; set +a
setsid node "$SHIPSHAPE_ROOT/current/dist/main.js" >>"$STUB_LOG" 2>&1 </dev/null &
echo $! >"$STUB_PIDFILE"
`;

const git = (...args: string[]) =>
  runOk('git', ['-c', 'user.name=drill', '-c', 'user.email=drill@example.test', ...args], { cwd: source });

/** Commits the source tree as VERSION with package.json (and its lock) saying SEMVER. */
function release(tag: string, semver: string): void {
  for (const file of ['package.json', 'package-lock.json']) {
    const json = JSON.parse(readFileSync(join(source, file), 'utf8'));
    json.version = semver;
    if (json.packages?.['']) json.packages[''].version = semver;
    writeFileSync(join(source, file), `${JSON.stringify(json, null, 2)}\n`);
  }
  git('add', '-A');
  git('commit', '-q', '-m', `release ${tag}`);
  git('tag', tag);
}

async function script(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CommandResult> {
  await reloadsSettled();
  const result = run(join(REPO, 'deploy', name), args, {
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      SHIPSHAPE_ROOT: root,
      SHIPSHAPE_REPO: source,
      SHIPSHAPE_ENV_FILE: envFile,
      SHIPSHAPE_SMOKE_URL: `http://127.0.0.1:${port}`,
      STUB_PIDFILE: pidFile,
      STUB_LOG: appLog,
      // deploy.sh's post-deploy watch, kept short here: test/deploy-safety drills it under traffic.
      VERIFY_WINDOW: '3',
      VERIFY_BASELINE_WINDOW: '2',
      VERIFY_INTERVAL: '1',
      ...env,
    },
  });
  process.stdout.write(`\n$ ${name} ${args.join(' ')} -> exit ${result.status}\n`);
  return result;
}

const current = () => basename(readlinkSync(join(root, 'current')));
const primaryPid = () => Number(readFileSync(pidFile, 'utf8').trim());
const runningVersion = async () =>
  JSON.parse((await send(`http://127.0.0.1:${port}/api/v1/openapi.json`)).text).info.version as string;
const drillTableExists = () => db.schema.hasTable('release_drill');

/**
 * Waits until the app has finished every reload it was sent. systemctl reload returns once SIGHUP is sent, and
 * the primary ignores a SIGHUP that arrives while it is still rolling workers, so back-to-back steps wait here
 * (docs/operations.md tells operators the same: wait for "reload: done" before the next deploy).
 */
async function reloadsSettled(): Promise<void> {
  const reloads = `${pidFile}.reloads`;
  const sent = existsSync(reloads) ? readFileSync(reloads, 'utf8').split('\n').filter(Boolean).length : 0;
  await waitFor(
    `the app to finish ${sent} reload(s)`,
    async () => {
      const log = existsSync(appLog) ? readFileSync(appLog, 'utf8') : '';
      const finished = log.match(/"msg":"reload(: done| stopped| cancelled)/g)?.length ?? 0;
      return finished >= sent ? true : undefined;
    },
    { timeoutMs: 120_000 },
  );
}

beforeAll(async () => {
  mkdirSync(source, { recursive: true });
  mkdirSync(bin, { recursive: true });
  runOk('bash', ['-c', `git -C "${REPO}" archive HEAD | tar -x -C "${source}"`]);
  git('init', '-q', '-b', 'main');
  release('v1', '1.0.0');
  writeFileSync(
    join(source, 'migrations', DRILL_MIGRATION),
    `// @ts-check
/** Release drill: a table only v2 knows about. */
/** @param {import('knex').Knex} knex */
exports.up = async (knex) => {
  await knex.schema.createTable('release_drill', (table) => {
    table.increments('id');
    table.text('note');
  });
};
/** @param {import('knex').Knex} knex */
exports.down = async (knex) => {
  await knex.schema.dropTable('release_drill');
};
`,
  );
  release('v2', '2.0.0');
  // A build that compiles and then dies as it starts: the kind of release a smoke test exists for.
  const main = join(source, 'src', 'main.ts');
  writeFileSync(
    main,
    `if (process.env.APP_ENV) throw new Error('release drill: this build is broken');\n${readFileSync(main, 'utf8')}`,
  );
  release('v3', '3.0.0');

  writeFileSync(join(bin, 'systemctl'), STUB_SYSTEMCTL);
  chmodSync(join(bin, 'systemctl'), 0o755);
  database = await freshDatabase('drill');
  db = connect(database.url);
  port = await freePort();
  // Two workers: the reload rolls them one at a time, as on a server.
  await writeHostEnvFile(envFile, { databaseUrl: database.url, port, workers: 2, extra: ['LOG_LEVEL=info'] });
});

afterAll(async () => {
  if (existsSync(pidFile)) {
    const pid = primaryPid();
    await terminatePid(pid);
  }
  await db?.destroy();
  await database?.drop();
});

describe('deploy drill', () => {
  test('DB-1, OPS-1: when v1 is deployed on an empty root, then it is built, migrated, started and passes its smoke test', async () => {
    const result = await script('deploy.sh', ['v1']);
    expect(result.stderr).toContain('smoke: passed');
    expect(result.status).toBe(0);
    expect(current()).toBe('v1');
    expect(await runningVersion()).toBe('1.0.0');
    expect(readFileSync(join(root, 'releases', 'v1', '.release'), 'utf8')).toMatch(/^version=v1$/m);
    expect(existsSync(join(root, 'releases', 'v1', 'node_modules', 'typescript'))).toBe(false);
    expect(await db('knex_migrations').count({ n: '*' })).toEqual([
      { n: String(shippedMigrations().length) },
    ]);
  });

  test('OPS-4: when v2 with a migration is deployed under traffic, then no request fails and the same process serves v2', async () => {
    const pid = primaryPid();
    // A client asking all through the deploy, one connection per request (curl), as separate process: deploy.sh
    // blocks this one. Any status other than 200, or 000 for a refused or cut connection, is a dropped request.
    const statuses = join(work, 'statuses.txt');
    const client = spawn(
      'bash',
      [
        '-c',
        `while :; do curl -s -o /dev/null --max-time 5 -w '%{http_code}\\n' "$1" >>"$2"; sleep 0.05; done`,
        'client',
        `http://127.0.0.1:${port}/health/live`,
        statuses,
      ],
      { detached: true, stdio: 'ignore' },
    );
    const result = await script('deploy.sh', ['v2']);
    process.kill(-client.pid!, 'SIGTERM');
    const answers = readFileSync(statuses, 'utf8').split('\n').filter(Boolean);
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.filter((status) => status !== '200')).toEqual([]);
    process.stdout.write(`\nrequests during the v2 deploy: ${answers.length}, all 200\n`);
    expect(result.stderr).toContain('smoke: passed');
    expect(result.status).toBe(0);
    expect(current()).toBe('v2');
    expect(basename(readlinkSync(join(root, 'previous')))).toBe('v1');
    expect(await runningVersion()).toBe('2.0.0');
    expect(await drillTableExists()).toBe(true);
    // A reload, not a restart: the supervisor's main process is the one from v1's start.
    expect(primaryPid()).toBe(pid);
  });

  test('OPS-2: when rollback.sh is asked to undo migrations, then v1 serves again on the v1 schema', async () => {
    const result = await script('rollback.sh', [], { SHIPSHAPE_ROLLBACK_MIGRATIONS: '1' });
    expect(result.stderr).toContain('smoke: passed');
    expect(result.status).toBe(0);
    expect(current()).toBe('v1');
    expect(await runningVersion()).toBe('1.0.0');
    expect(await drillTableExists()).toBe(false);
  });

  test('OPS-2, OPS-5: when v3 fails its smoke test, then deploy.sh rolls back to v1 by itself and exits non-zero', async () => {
    const result = await script('deploy.sh', ['v3'], { SMOKE_TIMEOUT: '10' });
    expect(result.stderr).toContain('smoke: FAILED');
    expect(result.stderr).toContain('rolled back to v1');
    expect(result.status).toBe(1);
    expect(current()).toBe('v1');
    expect(await runningVersion()).toBe('1.0.0');
    expect((await send(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
  });

  test('OPS-1: when v2 is deployed again keeping no extra release, then it reuses its build and prunes v3', async () => {
    const result = await script('deploy.sh', ['v2'], { SHIPSHAPE_KEEP_RELEASES: '0' });
    expect(result.stderr).toContain('already built');
    expect(result.status).toBe(0);
    expect(await runningVersion()).toBe('2.0.0');
    expect(await drillTableExists()).toBe(true);
    expect(readdirSync(join(root, 'releases')).sort()).toEqual(['v1', 'v2']);
    const history = readFileSync(join(root, 'deploys.log'), 'utf8');
    expect(
      history
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' ').slice(1).join(' ')),
    ).toEqual([
      'deploy v1 ok',
      'deploy v2 ok',
      'rollback to v1 ok',
      'deploy v3 smoke-failed',
      'rollback to v1 ok',
      'deploy v2 ok',
    ]);
  });
});

describe('deploy scripts', () => {
  test('when shellcheck reads every deploy and CI script, then it finds nothing', () => {
    const scripts = readdirSync(join(REPO, 'deploy'))
      .filter((name) => name.endsWith('.sh'))
      .map((name) => `deploy/${name}`);
    scripts.push('.ci/run', '.ci/lib.sh', '.ci/audit.sh', '.ci/node24-smoke.sh');
    for (const name of readdirSync(join(REPO, '.ci', 'steps'))) scripts.push(`.ci/steps/${name}`);
    const result = run('shellcheck', ['-x', ...scripts]);
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  test.each([
    'deploy.sh',
    'rollback.sh',
    'smoke.sh',
    'backup.sh',
    'restore.sh',
    'provision.sh',
    'render-nginx-site.sh',
    'upstream-host.sh',
  ])('when %s is asked for help, then it prints a usage line', (name) => {
    const result = run(join(REPO, 'deploy', name), ['--help']);
    expect(result.stderr).toMatch(/^usage: /);
    expect(result.status).toBe(0);
  });
});
