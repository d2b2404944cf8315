import { parseArgs } from 'node:util';
import { MIGRATIONS_DIR } from '../db/knex.js';
import { CHECKS } from '../doctor/checks/index.js';
import { createContext } from '../doctor/context.js';
import { jsonReport, textReport, writeTextfile } from '../doctor/report.js';
import { runChecks, summary } from '../doctor/run.js';
import type { DoctorOptions } from '../doctor/types.js';

const USAGE = `usage: shipshape doctor [options]   (node dist/cli/doctor.js, npm run doctor --, deploy/doctor.sh)
Audits the live deployment; exits 1 when any check fails, 64 on bad usage.
  --url URL              the public HTTPS URL (https://api.example.com); the URL checks skip without it
  --http-url URL         where plain HTTP answers (default: http://<host of --url>/)
  --ca-file PEM          extra CA certificates to trust (a private CA)
  --env-file PATH        the service's env file (default /etc/shipshape/shipshape.env)
  --credentials-dir DIR  where the service's credentials are (LoadCredential=), for the configuration check
  --service-user NAME    the service's user (default shipshape)
  --unit NAME            the systemd unit (default shipshape.service)
  --unit-file PATH       its file (default /etc/systemd/system/shipshape.service)
  --pid PID              the service's main pid (default: systemctl show -p MainPID)
  --migrations-dir DIR   the release's migrations (default: this build's)
  --replicas N           streaming replicas the primary must have (default: none configured)
  --instances N          hosts running the app on the same database (default 1)
  --data-path DIR        repeatable (default /var/lib/postgresql)
  --backup-path DIR      repeatable (default /var/lib/pgbackrest)
  --metrics-dir DIR      node-exporter's textfile directory the backup scripts write (default /var/lib/prometheus/node-exporter)
  --textfile DIR         write the result there as shipshape_doctor.prom
  --only ID              run only checks whose id starts with ID (repeatable: config, db, url, host, integrations)
  --json                 print JSON instead of the report
Checks: ${CHECKS.map((check) => check.id).join(', ')}`;

function parse(argv: string[]): { options: DoctorOptions; json: boolean; textfile?: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      'http-url': { type: 'string' },
      'ca-file': { type: 'string' },
      'env-file': { type: 'string', default: '/etc/shipshape/shipshape.env' },
      'credentials-dir': { type: 'string' },
      'service-user': { type: 'string', default: 'shipshape' },
      unit: { type: 'string', default: 'shipshape.service' },
      'unit-file': { type: 'string', default: '/etc/systemd/system/shipshape.service' },
      pid: { type: 'string' },
      'migrations-dir': { type: 'string', default: MIGRATIONS_DIR },
      replicas: { type: 'string' },
      instances: { type: 'string', default: '1' },
      'data-path': { type: 'string', multiple: true, default: ['/var/lib/postgresql'] },
      'backup-path': { type: 'string', multiple: true, default: ['/var/lib/pgbackrest'] },
      'metrics-dir': { type: 'string', default: '/var/lib/prometheus/node-exporter' },
      textfile: { type: 'string' },
      only: { type: 'string', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) throw new Error('');
  const whole = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a whole number`);
    return Number(value);
  };
  if (values.url && !values.url.startsWith('https://')) throw new Error('--url must start with https://');
  return {
    json: values.json,
    textfile: values.textfile,
    options: {
      url: values.url,
      httpUrl: values['http-url'],
      caFile: values['ca-file'],
      envFile: values['env-file'],
      credentialsDir: values['credentials-dir'],
      serviceUser: values['service-user'],
      unit: values.unit,
      unitFile: values['unit-file'],
      pid: whole('pid', values.pid),
      migrationsDir: values['migrations-dir'],
      replicas: whole('replicas', values.replicas),
      instances: whole('instances', values.instances) ?? 1,
      dataPaths: values['data-path'],
      backupPaths: values['backup-path'],
      metricsDir: values['metrics-dir'],
      only: values.only,
    },
  };
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    const message = (error as Error).message;
    process.stderr.write(`${message ? `${message}\n` : ''}${USAGE}\n`);
    return message ? 64 : 0;
  }
  const { options } = parsed;
  const checks = CHECKS.filter(
    (check) => options.only.length === 0 || options.only.some((prefix) => check.id.startsWith(prefix)),
  );
  if (checks.length === 0) {
    process.stderr.write(`no check matches --only ${options.only.join(', ')}\n${USAGE}\n`);
    return 64;
  }
  const context = createContext(options);
  const at = new Date();
  const findings = await runChecks(checks, context).finally(() => context.close());
  process.stdout.write(parsed.json ? jsonReport(findings, at) : textReport(findings));
  if (parsed.textfile) writeTextfile(parsed.textfile, findings, at);
  return summary(findings).fail > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error('doctor failed:', error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
