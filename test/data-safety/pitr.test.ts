import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BackedUpCluster,
  backedUpCluster,
  checksumQuery,
  dropRestored,
  restoredPsql,
} from '../infra/support/pgbackrest';
import { run } from '../support/processes';
import { sleep } from '../support/waiting';

/**
 * Point-in-time recovery drill on PostgreSQL 15 with pgBackRest and the shipped templates: a full backup by
 * deploy/backup-pitr.sh, WAL archived by archive_command with the shipped archive_timeout, the monthly drill
 * (deploy/restore-drill.sh), then the cluster is killed and its directory deleted, and deploy/restore-to.sh
 * brings back the noted moment and the latest one. The RPO and restore times are measured and printed.
 */
jest.setTimeout(600_000);

let cluster: BackedUpCluster;
const restored: string[] = [];
const figures: string[] = [];

const metrics = (name: string) => readFileSync(join(cluster.textfileDir, `${name}.prom`), 'utf8');
const metric = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};
/** promtool's own check of the exposition format node-exporter will read. */
const promtoolCheck = (text: string) => run('promtool', ['check', 'metrics'], { input: text });

function restoreTo(target: string, name: string) {
  restored.push(name);
  const started = process.hrtime.bigint();
  const result = cluster.script('restore-to.sh', [target, '--into', name]);
  return { ...result, ms: Number((process.hrtime.bigint() - started) / 1_000_000n) };
}

beforeAll(async () => {
  cluster = await backedUpCluster();
  cluster.psql('create database shipshape');
  cluster.psql(
    `create table notes (id serial primary key, title text not null, body text);
     insert into notes (title, body) select 'note ' || g, repeat('body ', g % 30) from generate_series(1, 2000) g`,
    'shipshape',
  );
});

afterAll(async () => {
  for (const name of restored) dropRestored(cluster, name);
  cluster?.stop();
  if (cluster) rmSync(cluster.root, { recursive: true, force: true });
  process.stdout.write(`\n${figures.join('\n')}\n`);
});

describe('point-in-time recovery with pgBackRest', () => {
  test('DB-4, DB-9: when backup-pitr.sh runs a full backup, then the repository lists it and the metrics report it', () => {
    const result = cluster.script('backup-pitr.sh', ['full']);
    expect(result.stderr).not.toMatch(/ERROR/);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d{8}-\d{6}F$/);
    const info = JSON.parse(cluster.pgbackrest(['info', '--output=json']).stdout)[0];
    expect(info.cipher).toBe('aes-256-cbc');
    expect(info.backup).toHaveLength(1);
    const text = metrics('shipshape_backup');
    expect(promtoolCheck(text).status).toBe(0);
    expect(metric(text, 'shipshape_backup_last_success_timestamp_seconds{type="full"}')).toBe(
      info.backup[0].timestamp.stop,
    );
    expect(metric(text, 'shipshape_backup_last_run_success{type="full"}')).toBe(1);
    expect(metric(text, 'shipshape_backup_repository_bytes')).toBeGreaterThan(0);
    figures.push(
      `backup sizes: database ${info.backup[0].info.size} bytes, full backup stored ${info.backup[0].info.repository.delta} bytes (compressed, encrypted), repository ${metric(text, 'shipshape_backup_repository_bytes')} bytes`,
    );
  });

  test('DB-12: when pgBackRest reads the shipped configuration, then it keeps 30 days of full backups and WAL', () => {
    const help = cluster.pgbackrest(['help', 'expire', 'repo-retention-full']).stdout;
    expect(help).toMatch(/current: 30/);
    expect(cluster.pgbackrest(['help', 'expire', 'repo-retention-full-type']).stdout).toMatch(
      /current: time/,
    );
  });

  test('DB-13: when the restore drill runs, then it restores the marker it wrote, checksums every table and records success', () => {
    const expected = cluster.psql(checksumQuery('public.notes'), 'shipshape');
    const result = cluster.script('restore-drill.sh');
    expect(result.stderr).toContain('drill passed');
    expect(result.status).toBe(0);
    // The drill's checksum of the notes table equals the live one (nothing wrote in between).
    expect(result.stdout).toContain(`shipshape.public.notes ${expected}`);
    expect(expected.startsWith('2000 ')).toBe(true);
    const text = metrics('shipshape_restore_drill');
    expect(promtoolCheck(text).status).toBe(0);
    expect(metric(text, 'shipshape_restore_drill_last_run_success')).toBe(1);
    expect(metric(text, 'shipshape_restore_drill_last_success_timestamp_seconds')).toBeGreaterThan(
      Date.now() / 1000 - 600,
    );
    // The scratch cluster is gone.
    expect(run('ls', [cluster.env.RESTORE_ROOT!]).stdout.trim()).toBe('');
    figures.push(
      `restore drill (latest, scratch cluster, checks included): ${metric(text, 'shipshape_restore_drill_duration_seconds')} s`,
    );
  });

  test('DB-13: when WAL archiving fails, then the drill fails, keeps the last success time, and the WAL metrics show the failure', () => {
    const before = metric(
      metrics('shipshape_restore_drill'),
      'shipshape_restore_drill_last_success_timestamp_seconds',
    );
    // A command check accepts (it names pgbackrest) that fails every time: the wrong data directory.
    cluster.psql(
      `alter system set archive_command = 'pgbackrest --config-path=${cluster.configPath} --stanza=shipshape --pg1-path=/nonexistent archive-push %p'`,
    );
    cluster.psql('select pg_reload_conf()');
    try {
      const result = cluster.script('restore-drill.sh', [], { PGBACKREST_ARCHIVE_TIMEOUT: '5' });
      expect(result.status).not.toBe(0);
      const text = metrics('shipshape_restore_drill');
      expect(metric(text, 'shipshape_restore_drill_last_run_success')).toBe(0);
      expect(metric(text, 'shipshape_restore_drill_last_success_timestamp_seconds')).toBe(before);
      expect(cluster.script('backup-offhost.sh').status).toBe(0);
      const wal = metrics('shipshape_wal');
      expect(promtoolCheck(wal).status).toBe(0);
      expect(metric(wal, 'shipshape_wal_last_failed_timestamp_seconds')).toBeGreaterThan(
        metric(wal, 'shipshape_wal_last_archived_timestamp_seconds')!,
      );
    } finally {
      cluster.psql('alter system reset archive_command');
      cluster.psql('select pg_reload_conf()');
    }
  });

  test('DB-9: when the cluster is killed and deleted, then a restore to the noted time has A and not B, and latest has both', async () => {
    cluster.psql(
      'create table drill (id serial primary key, label text not null, at timestamptz not null default clock_timestamp())',
      'shipshape',
    );
    cluster.psql(`insert into drill (label) values ('A')`, 'shipshape');
    await sleep(1000);
    const noted = cluster.psql('select now()');
    await sleep(1000);
    cluster.psql(`insert into drill (label) values ('B')`, 'shipshape');

    // Writes every 200 ms, each acknowledged with its commit time, for longer than archive_timeout (60 s): what
    // survives the hard stop is what the shipped archiving had shipped.
    const acknowledged = join(cluster.root, 'acknowledged.txt');
    writeFileSync(acknowledged, '');
    run('chown', ['postgres:postgres', acknowledged]);
    const writer = spawn('runuser', [
      '-u',
      'postgres',
      '--',
      'bash',
      '-c',
      `while psql -qAt -h "$0" -p "$1" -d shipshape -c "insert into drill (label) values ('rpo') returning extract(epoch from at)" >>"$2" 2>/dev/null; do sleep 0.2; done`,
      cluster.socket,
      String(cluster.port),
      acknowledged,
    ]);
    await sleep(65_000);
    await cluster.kill();
    await new Promise((resolve) => (writer.exitCode === null ? writer.once('exit', resolve) : resolve(null)));
    rmSync(cluster.data, { recursive: true, force: true });
    const lastAcknowledged = Number(readFileSync(acknowledged, 'utf8').trim().split('\n').at(-1));
    expect(lastAcknowledged).toBeGreaterThan(0);

    const toNoted = restoreTo(noted, 'pitr-noted');
    expect(toNoted.stderr).toContain('restore-to: restored shipshape');
    expect(toNoted.status).toBe(0);
    expect(
      restoredPsql(
        cluster,
        'pitr-noted',
        "select string_agg(label, ',' order by id) from drill",
        'shipshape',
      ),
    ).toBe('A');
    expect(toNoted.stdout).toMatch(/^shipshape\.public\.drill 1 [0-9a-f]{32}$/m);
    expect(toNoted.stdout).toMatch(/^shipshape\.public\.notes 2000 [0-9a-f]{32}$/m);
    dropRestored(cluster, 'pitr-noted');

    const toLatest = restoreTo('latest', 'pitr-latest');
    expect(toLatest.status).toBe(0);
    const labels = restoredPsql(
      cluster,
      'pitr-latest',
      `select string_agg(distinct label, ',') from drill`,
      'shipshape',
    );
    expect(labels).toBe('A,B,rpo');
    const lastSurvived = Number(
      restoredPsql(
        cluster,
        'pitr-latest',
        `select extract(epoch from max(at)) from drill where label = 'rpo'`,
        'shipshape',
      ),
    );
    // A copy is read-write, and never archives into the real cluster's repository.
    restoredPsql(cluster, 'pitr-latest', `insert into drill (label) values ('after')`, 'shipshape');
    expect(restoredPsql(cluster, 'pitr-latest', 'show archive_mode')).toBe('off');
    figures.push(
      `RPO measured: last acknowledged write ${new Date(lastAcknowledged * 1000).toISOString()}, last surviving ${new Date(lastSurvived * 1000).toISOString()}: ${(lastAcknowledged - lastSurvived).toFixed(1)} s lost (archive_timeout 60 s)`,
      `restore-to.sh (2,000-row test database, restore + WAL replay + promotion + checks): to the noted time ${toNoted.ms} ms, to latest ${toLatest.ms} ms`,
    );
  });

  test('DB-10: when the key is missing or wrong, then the restore fails and says so, and the repository holds only ciphertext', () => {
    const backupInfo = join(cluster.root, 'var', 'lib', 'pgbackrest', 'backup', 'shipshape', 'backup.info');
    expect(readFileSync(backupInfo).subarray(0, 8).toString()).toBe('Salted__');
    const aside = `${cluster.keyFile}.aside`;
    renameSync(cluster.keyFile, aside);
    try {
      const missing = restoreTo('latest', 'pitr-nokey');
      expect(missing.status).not.toBe(0);
      expect(missing.stderr).toContain('requires option: repo1-cipher-pass');
      writeFileSync(cluster.keyFile, `[global]\nrepo1-cipher-pass=not-the-key\n`, { mode: 0o600 });
      run('chown', ['postgres:postgres', cluster.keyFile]);
      const wrong = restoreTo('latest', 'pitr-wrongkey');
      expect(wrong.status).not.toBe(0);
      expect(wrong.stderr).toContain('cannot be read with this key (wrong repo1-cipher-pass?)');
      expect(existsSync(join(cluster.env.RESTORE_ROOT!, 'pitr-wrongkey'))).toBe(false);
    } finally {
      renameSync(aside, cluster.keyFile);
    }
  });
});
