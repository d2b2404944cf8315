import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { ConfigError } from '../../config/index.js';
import { SETTINGS } from '../../config/settings.js';
import { type Check, fail, pass, skip, warn } from '../types.js';

const SECRET_VARIABLES = [
  SETTINGS.secretKey,
  SETTINGS.database.url,
  SETTINGS.rateLimit.redisUrl,
  SETTINGS.sentry.dsn,
].flatMap((row) => row.variable ?? []);

export const refusals: Check = {
  id: 'config.refusals',
  checklist: 'CFG-6',
  title: 'the configuration passes the refusals the app applies at start-up',
  fix: 'fix each named variable in the env file (.env.example documents each); the app refuses to start with them as they are',
  async run(context) {
    try {
      const config = context.config();
      if (!config.strict)
        return fail(`APP_ENV=${config.appEnv}: production must run with APP_ENV=production`);
      return pass(`APP_ENV=${config.appEnv}, every setting accepted`);
    } catch (error) {
      if (error instanceof ConfigError)
        return fail(error.problems.map((p) => `${p.variable} ${p.message}`).join('; '));
      throw error;
    }
  },
};

function uidOf(user: string): number | undefined {
  try {
    return Number(execFileSync('id', ['-u', user], { stdio: ['ignore', 'pipe', 'ignore'] }).toString());
  } catch {
    return undefined;
  }
}

export const envFilePermissions: Check = {
  id: 'config.env-file-permissions',
  checklist: 'CFG-7',
  title: 'the env file holding secrets is readable by root or the service user only',
  fix: 'chown root:root /etc/shipshape/shipshape.env && chmod 0600 /etc/shipshape/shipshape.env (deploy/provision.sh does)',
  async run({ options }) {
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(options.envFile);
    } catch (error) {
      return skip(
        `${options.envFile}: ${(error as NodeJS.ErrnoException).code} (credentials only, or not this host?)`,
      );
    }
    const mode = stat.mode & 0o777;
    const owners = [0, uidOf(options.serviceUser)].filter((uid) => uid !== undefined);
    const problems = [
      mode & 0o077 ? `mode ${mode.toString(8).padStart(4, '0')} lets others read it (want 0600)` : '',
      owners.includes(stat.uid) ? '' : `owned by uid ${stat.uid}, not root or ${options.serviceUser}`,
    ].filter(Boolean);
    if (problems.length > 0) return fail(`${options.envFile}: ${problems.join('; ')}`);
    return pass(`${options.envFile}: mode ${mode.toString(8).padStart(4, '0')}, uid ${stat.uid}`);
  },
};

function mainPid(unit: string): number | undefined {
  try {
    const out = execFileSync('systemctl', ['show', '-p', 'MainPID', '--value', unit], {
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    });
    const pid = Number(out.toString().trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export const secretsOutOfProcessEnvironment: Check = {
  id: 'config.secrets-not-in-environment',
  checklist: 'CFG-7',
  title: 'where credentials are used, the secrets are not also in the running service’s environment',
  fix: 'remove the secret from the env file and Environment= lines once LoadCredential= or NAME_FILE provides it: the environment leaks into /proc, crash dumps and child processes',
  async run({ options }) {
    const pid = options.pid ?? mainPid(options.unit);
    if (!pid)
      return skip(`no main pid for ${options.unit} (not running here, or systemd unreadable; --pid PID)`);
    let raw: string;
    try {
      raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch (error) {
      return skip(
        `/proc/${pid}/environ: ${(error as NodeJS.ErrnoException).code} (run as root or ${options.serviceUser})`,
      );
    }
    const env = new Map(
      raw
        .split('\0')
        .filter(Boolean)
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] as const),
    );
    const viaFiles =
      env.has('CREDENTIALS_DIRECTORY') || SECRET_VARIABLES.some((name) => env.has(`${name}_FILE`));
    const exposed = SECRET_VARIABLES.filter((name) => env.get(name));
    if (!viaFiles) {
      if (exposed.length === 0) return pass(`pid ${pid}: no secret in its environment`);
      const me = userInfo().username;
      return warn(
        `pid ${pid} (read as ${me}) gets ${exposed.join(', ')} from its environment; credentials files would keep them out`,
      );
    }
    if (exposed.length > 0)
      return fail(`pid ${pid} uses credentials files, yet ${exposed.join(', ')} is in its environment too`);
    return pass(`pid ${pid}: secrets come from credentials files only`);
  },
};
