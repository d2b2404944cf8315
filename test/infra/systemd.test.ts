import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { REPO, run } from '../support/processes';

/**
 * The shipped units, checked by systemd's own analyzers. There is no systemd as PID 1 here,
 * so the units are verified and scored offline rather than started.
 */
const SYSTEMD = join(REPO, 'systemd');
const UNITS = [
  'shipshape.service',
  'shipshape-backup.service',
  'shipshape-backup.timer',
  'shipshape-purge.service',
  'shipshape-purge.timer',
];
const MAX_EXPOSURE = 1.5;

/** The unit's settings, key -> every value it is given (a key may repeat). */
function settings(unit: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of readFileSync(join(SYSTEMD, unit), 'utf8').split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    map.set(match[1]!, [...(map.get(match[1]!) ?? []), match[2]!]);
  }
  return map;
}

const seconds = (value: string) => {
  const match = /^(\d+)(s|min)?$/.exec(value);
  if (!match) throw new Error(`not a simple duration: ${value}`);
  return Number(match[1]) * (match[2] === 'min' ? 60 : 1);
};

describe('systemd units', () => {
  test.each(UNITS)(
    'SRV-6: when systemd-analyze verify reads %s, then it prints nothing and exits 0',
    (unit) => {
      const result = run('systemd-analyze', ['verify', `./${unit}`], { cwd: SYSTEMD });
      expect(result.stdout + result.stderr).toBe('');
      expect(result.status).toBe(0);
    },
  );

  test.each(['shipshape.service', 'shipshape-backup.service', 'shipshape-purge.service'])(
    'when systemd-analyze security scores %s offline, then the exposure is at most 1.5',
    (unit) => {
      const result = run(
        'systemd-analyze',
        ['security', '--offline=true', `--threshold=${MAX_EXPOSURE * 10}`, '--no-pager', `./${unit}`],
        { cwd: SYSTEMD },
      );
      const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(result.stdout)?.[1]);
      expect(score).toBeLessThanOrEqual(MAX_EXPOSURE);
      expect(result.status).toBe(0);
      process.stdout.write(`\nsystemd-analyze security ${unit}: exposure ${score}\n`);
    },
  );

  test('SRV-6, SEC-14: when the app unit is read, then it runs node on the current release as its own user, always restarted', () => {
    const unit = settings('shipshape.service');
    expect(unit.get('User')).toEqual(['shipshape']);
    expect(unit.get('WorkingDirectory')).toEqual(['/srv/shipshape/current']);
    expect(unit.get('ExecStart')).toEqual(['/usr/bin/node /srv/shipshape/current/dist/main.js']);
    expect(unit.get('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(unit.get('Restart')).toEqual(['always']);
    expect(unit.get('RestartPreventExitStatus')).toEqual(['78']);
    expect(unit.get('KillSignal')).toEqual(['SIGTERM']);
    expect(unit.get('WantedBy')).toEqual(['multi-user.target']);
    expect(unit.get('EnvironmentFile')).toEqual(['/etc/shipshape/shipshape.env']);
    // Node's JIT needs writable and executable memory.
    expect(unit.get('MemoryDenyWriteExecute')).toEqual(['no']);
  });

  test('when the stop timeout is compared with the app drain, then systemd waits longer than the drain', () => {
    const drainSeconds = loadConfig({}).http.shutdownTimeoutMs / 1000;
    // The primary gives workers their drain plus 5 s before killing them (src/process/primary.ts).
    const stop = seconds(settings('shipshape.service').get('TimeoutStopSec')![0]!);
    expect(stop).toBeGreaterThan(drainSeconds + 5);
  });

  test('when the backup timer is read, then it runs nightly, catches up missed runs and starts at boot', () => {
    const timer = settings('shipshape-backup.timer');
    const calendar = run('systemd-analyze', ['calendar', timer.get('OnCalendar')![0]!]);
    expect(calendar.status).toBe(0);
    expect(calendar.stdout).toMatch(/Normalized form: \*-\*-\* 03:15:00/);
    expect(timer.get('Persistent')).toEqual(['true']);
    expect(timer.get('WantedBy')).toEqual(['timers.target']);
  });

  test('SEC-18: when the purge units are read, then the retention purge runs the built CLI daily as the app user and catches up missed runs', () => {
    const unit = settings('shipshape-purge.service');
    expect(unit.get('User')).toEqual(['shipshape']);
    expect(unit.get('ExecStart')).toEqual(['/usr/bin/node /srv/shipshape/current/dist/cli/purge.js']);
    // A purged account's attachments are deleted with it.
    expect(unit.get('ReadWritePaths')).toEqual(['/var/lib/shipshape/uploads']);
    const timer = settings('shipshape-purge.timer');
    const calendar = run('systemd-analyze', ['calendar', timer.get('OnCalendar')![0]!]);
    expect(calendar.stdout).toMatch(/Normalized form: \*-\*-\* 04:30:00/);
    expect(timer.get('Persistent')).toEqual(['true']);
  });

  test('OBS-7: when the journald drop-in is read, then logs persist with a size cap and a retention limit', () => {
    const text = readFileSync(join(SYSTEMD, 'journald.conf.d', 'shipshape.conf'), 'utf8');
    expect(text).toMatch(/^\[Journal\]$/m);
    expect(text).toMatch(/^Storage=persistent$/m);
    expect(text).toMatch(/^SystemMaxUse=\d+[MG]$/m);
    expect(text).toMatch(/^MaxRetentionSec=\d+day$/m);
  });
});
