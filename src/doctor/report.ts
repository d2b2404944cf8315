import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summary } from './run.js';
import type { Finding } from './types.js';

const LABEL = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' } as const;

/** The human report: one line per check, and the fix under each that is not a pass. */
export function textReport(findings: Finding[]): string {
  const lines = findings.flatMap((finding) => {
    const head = `${LABEL[finding.status]}  ${finding.id.padEnd(34)} [${finding.checklist}] ${finding.detail}`;
    return finding.status === 'warn' || finding.status === 'fail'
      ? [head, `      fix: ${finding.fix}`]
      : [head];
  });
  const total = summary(findings);
  lines.push(
    '',
    `${total.fail} failed, ${total.warn} warnings, ${total.pass} passed, ${total.skip} skipped (a skip is not a pass)`,
  );
  return `${lines.join('\n')}\n`;
}

export function jsonReport(findings: Finding[], at: Date): string {
  const total = summary(findings);
  return `${JSON.stringify({ ok: total.fail === 0, at: at.toISOString(), summary: total, checks: findings }, null, 2)}\n`;
}

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
const STATUS_VALUE = { pass: 0, warn: 1, fail: 2, skip: -1 } as const;

/** Prometheus text-format gauges for node-exporter's textfile collector. */
export function textfileMetrics(findings: Finding[], at: Date): string {
  const total = summary(findings);
  const perCheck = findings.map(
    (f) =>
      `shipshape_doctor_check_status{check="${escapeLabel(f.id)}",checklist="${escapeLabel(f.checklist)}"} ${STATUS_VALUE[f.status]}`,
  );
  return [
    '# HELP shipshape_doctor_last_run_timestamp_seconds When shipshape doctor last audited the deployment.',
    '# TYPE shipshape_doctor_last_run_timestamp_seconds gauge',
    `shipshape_doctor_last_run_timestamp_seconds ${Math.floor(at.getTime() / 1000)}`,
    '# HELP shipshape_doctor_checks Checks of the last run, by outcome.',
    '# TYPE shipshape_doctor_checks gauge',
    ...(['pass', 'warn', 'fail', 'skip'] as const).map(
      (s) => `shipshape_doctor_checks{status="${s}"} ${total[s]}`,
    ),
    '# HELP shipshape_doctor_check_status Outcome of each check of the last run: 0 pass, 1 warn, 2 fail, -1 skip.',
    '# TYPE shipshape_doctor_check_status gauge',
    ...perCheck,
    '',
  ].join('\n');
}

/** Replaces shipshape_doctor.prom in one rename, so node-exporter never reads half a file. */
export function writeTextfile(dir: string, findings: Finding[], at: Date): string {
  const target = join(dir, 'shipshape_doctor.prom');
  const temporary = join(dir, `.shipshape_doctor.prom.${process.pid}.tmp`);
  writeFileSync(temporary, textfileMetrics(findings, at), { mode: 0o644 });
  renameSync(temporary, target);
  return target;
}
