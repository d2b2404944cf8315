import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Check, fail, pass, skip, warn } from '../types.js';

const exec = promisify(execFile);

/** A command's output, or why it could not run (missing binary, no permission, non-zero exit). */
async function output(
  command: string,
  args: string[],
): Promise<{ ok: true; text: string } | { ok: false; why: string }> {
  try {
    const { stdout, stderr } = await exec(command, args, { timeout: 20_000, maxBuffer: 8 * 1024 * 1024 });
    return { ok: true, text: stdout + stderr };
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') return { ok: false, why: `${command} is not installed` };
    return {
      ok: false,
      why: `${command} ${args.join(' ')}: ${(e.stderr || e.stdout || e.message).trim().split('\n')[0]}`,
    };
  }
}

export const systemdExposure: Check = {
  id: 'host.systemd-exposure',
  checklist: 'SRV-6',
  title: 'the service unit’s sandbox (systemd-analyze security exposure)',
  fix: 'install the shipped systemd/shipshape.service (its sandbox rates about 1 OK); keep its hardening lines in any drop-in',
  async run({ options }) {
    if (!existsSync(options.unitFile)) return skip(`no unit file at ${options.unitFile} (--unit-file)`);
    // exits 1 above --threshold; the score is in the last line whatever the exit status
    const result = await output('systemd-analyze', [
      'security',
      '--offline=true',
      '--threshold=100',
      options.unitFile,
    ]);
    if (!result.ok) return skip(result.why);
    const match = /Overall exposure level for \S+: ([\d.]+) (\S+)/.exec(result.text);
    if (!match) return skip('systemd-analyze printed no exposure level');
    const score = Number(match[1]);
    const sum = `exposure ${score} ${match[2]} (0 best, 10 worst)`;
    if (score > 5) return fail(sum);
    if (score > 2) return warn(sum);
    return pass(sum);
  },
};

export const diskFree: Check = {
  id: 'host.disk-free',
  checklist: 'DB-4',
  title: 'free space on the database and backup paths',
  fix: 'free space or grow the volume: under 10 % PostgreSQL and the backups are about to stop (docs/operations.md)',
  async run({ options }) {
    const paths = [...options.dataPaths, ...options.backupPaths].filter((path) => existsSync(path));
    if (paths.length === 0)
      return skip(
        `none of ${[...options.dataPaths, ...options.backupPaths].join(', ')} exists here (--data-path, --backup-path)`,
      );
    const figures = paths.map((path) => {
      const fs = statfsSync(path);
      return { path, free: fs.bavail / fs.blocks, gib: (fs.bavail * fs.bsize) / 2 ** 30 };
    });
    const sum = figures
      .map((f) => `${f.path} ${(f.free * 100).toFixed(0)} % free (${f.gib.toFixed(1)} GiB)`)
      .join(', ');
    if (figures.some((f) => f.free < 0.1)) return fail(sum);
    if (figures.some((f) => f.free < 0.2)) return warn(sum);
    return pass(sum);
  },
};

export const clockSync: Check = {
  id: 'host.clock-sync',
  checklist: 'OPS-19',
  title: 'the clock is synchronised (tokens, TLS and backups depend on it)',
  fix: 'enable time sync: `timedatectl set-ntp true` (systemd-timesyncd) or install chrony',
  async run() {
    const timedatectl = await output('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']);
    if (timedatectl.ok && /^(yes|no)$/m.test(timedatectl.text.trim()))
      return timedatectl.text.trim() === 'yes'
        ? pass('timedatectl: NTPSynchronized=yes')
        : fail('timedatectl: NTPSynchronized=no');
    // Without systemd, the kernel's own flag: adjtimex reports TIME_ERROR (5) while the clock is unsynchronised.
    const kernel = await output('python3', [
      '-c',
      'import ctypes;b=ctypes.create_string_buffer(512);print(ctypes.CDLL(None,use_errno=True).adjtimex(b))',
    ]);
    if (kernel.ok && /^\d+$/.test(kernel.text.trim()))
      return kernel.text.trim() === '5'
        ? fail('adjtimex: the kernel clock is unsynchronised (TIME_ERROR)')
        : pass(`adjtimex: state ${kernel.text.trim()} (synchronised)`);
    return skip(
      `neither timedatectl (${timedatectl.ok ? 'no answer' : timedatectl.why}) nor adjtimex is readable`,
    );
  },
};

/** The gauges in node-exporter's textfile directory, by metric name (the newest value when repeated). */
function textfileGauges(dir: string): Map<string, number> {
  const gauges = new Map<string, number>();
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.prom'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
      if (match) gauges.set(match[1]!, Math.max(gauges.get(match[1]!) ?? 0, Number(match[2])));
    }
  }
  return gauges;
}

const age = (seconds: number) =>
  seconds > 2 * 86_400 ? `${(seconds / 86_400).toFixed(1)} days` : `${(seconds / 3600).toFixed(1)} h`;

export const backupFreshness: Check = {
  id: 'host.backups',
  checklist: 'DB-13',
  title: 'the last backup is under 26 hours old and the last restore drill under 35 days',
  fix: 'check `systemctl list-timers shipshape-backup-*` and `journalctl -u shipshape-backup-diff -u shipshape-restore-drill` (docs/operations.md, backups)',
  async run({ options }) {
    let gauges: Map<string, number>;
    try {
      gauges = textfileGauges(options.metricsDir);
    } catch (error) {
      return skip(`${options.metricsDir}: ${(error as NodeJS.ErrnoException).code} (--metrics-dir)`);
    }
    const now = Date.now() / 1000;
    const backup = gauges.get('shipshape_backup_last_success_timestamp_seconds');
    const drill = gauges.get('shipshape_restore_drill_last_success_timestamp_seconds');
    const problems: string[] = [];
    const facts: string[] = [];
    if (!backup) problems.push('no successful backup recorded');
    else (now - backup > 26 * 3600 ? problems : facts).push(`last backup ${age(now - backup)} ago`);
    if (!drill) problems.push('no successful restore drill recorded');
    else (now - drill > 35 * 86_400 ? problems : facts).push(`last restore drill ${age(now - drill)} ago`);
    if (problems.length > 0) return fail([...problems, ...facts].join(', '));
    return pass(facts.join(', '));
  },
};

export const firewall: Check = {
  id: 'host.firewall',
  checklist: 'SEC-13',
  title: 'the firewall drops incoming traffic by default and opens only 22, 80 and 443',
  fix: 'ufw default deny incoming && ufw allow 22,80,443/tcp && ufw enable (deploy/provision.sh does)',
  async run() {
    const result = await output('nft', ['list', 'ruleset']);
    if (!result.ok) return skip(result.why);
    const inputChains = [...result.text.matchAll(/chain (\S+) \{([^}]*hook input[^}]*)\}/g)];
    if (inputChains.length === 0) return fail('no input chain: every port is open to the network');
    if (!inputChains.some((chain) => /policy drop/.test(chain[2]!)))
      return fail(`input chain(s) ${inputChains.map((c) => c[1]).join(', ')} accept by default`);
    const ports = new Set(
      [...result.text.matchAll(/dport (?:\{ ([^}]+) \}|(\d+)) .*accept/g)].flatMap((m) =>
        (m[1] ?? m[2] ?? '').split(/,\s*/).map((p) => p.trim()),
      ),
    );
    const extra = [...ports].filter((port) => !['22', '80', '443', 'ssh', 'http', 'https'].includes(port));
    if (extra.length > 0) return warn(`input drops by default but also accepts port(s) ${extra.join(', ')}`);
    return pass(`input drops by default; accepts ${[...ports].join(', ') || 'no tcp port'}`);
  },
};
