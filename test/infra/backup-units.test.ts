import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, run } from '../support/processes';

/**
 * The backup and drill units (deploy/setup-pgbackrest.sh installs them), checked by systemd's own analyzers:
 * there is no systemd as PID 1 here, so they are verified and scored offline, and the timers' calendars are
 * expanded by systemd-analyze.
 */
const SYSTEMD = join(REPO, 'systemd');
const JOBS = [
  'shipshape-backup-full',
  'shipshape-backup-diff',
  'shipshape-backup-offhost',
  'shipshape-backup-files',
  'shipshape-restore-drill',
];
const UNITS = JOBS.flatMap((job) => [`${job}.service`, `${job}.timer`]);

const setting = (unit: string, key: string) =>
  readFileSync(join(SYSTEMD, unit), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));

/** The next N elapse times systemd computes for a calendar expression, as dates. */
function nextRuns(calendar: string, count: number): Date[] {
  const result = run('systemd-analyze', ['calendar', `--iterations=${count}`, calendar], {
    env: { ...process.env, TZ: 'UTC' },
  });
  expect(result.status).toBe(0);
  return [
    ...result.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/g),
  ].map((match) => new Date(`${match[1]!.replace(' ', 'T')}Z`));
}
const days = (runs: Date[]) => runs.slice(1).map((at, i) => (at.getTime() - runs[i]!.getTime()) / 86_400_000);

describe('backup and drill units', () => {
  test.each(UNITS)('when systemd-analyze verify reads %s, then it prints nothing and exits 0', (unit) => {
    const result = run('systemd-analyze', ['verify', `./${unit}`], { cwd: SYSTEMD });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  test.each(JOBS)(
    'when systemd-analyze security scores %s.service offline, then the exposure is at most 2.0',
    (job) => {
      const result = run(
        'systemd-analyze',
        ['security', '--offline=true', '--threshold=20', '--no-pager', `./${job}.service`],
        {
          cwd: SYSTEMD,
        },
      );
      const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(result.stdout)?.[1]);
      expect(score).toBeLessThanOrEqual(2);
      process.stdout.write(`\nsystemd-analyze security ${job}.service: exposure ${score}\n`);
    },
  );

  test('when the database jobs are read, then they run as postgres (pgBackRest refuses root) and only the file backup as root', () => {
    for (const job of JOBS) {
      expect(setting(`${job}.service`, 'User')).toEqual([
        job === 'shipshape-backup-files' ? 'root' : 'postgres',
      ]);
      expect(setting(`${job}.service`, 'ExecStart')[0]).toMatch(
        /^\/bin\/bash \/srv\/shipshape\/bin\/(backup|restore)-[a-z]+\.sh/,
      );
      expect(setting(`${job}.timer`, 'Persistent')).toEqual(['true']);
    }
  });

  test('DB-9: when the backup timers are expanded, then a full backup runs weekly and a differential every other day', () => {
    const full = nextRuns(setting('shipshape-backup-full.timer', 'OnCalendar')[0]!, 4);
    expect(days(full)).toEqual([7, 7, 7]);
    expect(full.every((at) => at.getUTCDay() === 0)).toBe(true);
    const diff = nextRuns(setting('shipshape-backup-diff.timer', 'OnCalendar')[0]!, 12);
    expect(diff.every((at) => at.getUTCDay() !== 0)).toBe(true);
    expect(Math.max(...days(diff))).toBeLessThanOrEqual(2);
  });

  test('DB-13: when the drill timer is expanded, then a drill runs at least every 31 days, inside the 35-day alert', () => {
    const drill = nextRuns(setting('shipshape-restore-drill.timer', 'OnCalendar')[0]!, 13);
    expect(Math.max(...days(drill))).toBeLessThanOrEqual(31);
    const alerts = readFileSync(join(REPO, 'monitoring', 'prometheus', 'backup-alerts.yml'), 'utf8');
    expect(alerts).toContain('shipshape_restore_drill_last_success_timestamp_seconds > 35 * 86400');
  });

  test('DB-11: when the off-host timer is read, then the copy runs every 2 minutes', () => {
    expect(setting('shipshape-backup-offhost.timer', 'OnUnitActiveSec')).toEqual(['2min']);
  });
});
