import type { Config } from '../config/index.js';
import type { Knex } from '../db/knex.js';

export type Status = 'pass' | 'warn' | 'fail' | 'skip';

/** What one check concluded, and the evidence for it in a sentence. */
export interface Outcome {
  status: Status;
  detail: string;
}

export interface DoctorOptions {
  /** The public HTTPS URL (https://example.com); the URL checks skip without it. */
  url?: string;
  /** Where plain HTTP answers; by default the URL's host on port 80. */
  httpUrl?: string;
  /** A PEM file of extra CA certificates to trust (a private or test CA). */
  caFile?: string;
  envFile: string;
  credentialsDir?: string;
  serviceUser: string;
  unit: string;
  unitFile: string;
  /** The service's main pid; found with systemctl when not given. */
  pid?: number;
  migrationsDir: string;
  /** Expected streaming replicas; undefined means none is configured. */
  replicas?: number;
  /** Hosts (or containers) running the app against the same database, each with WEB_CONCURRENCY workers. */
  instances: number;
  dataPaths: string[];
  backupPaths: string[];
  metricsDir: string;
  only: string[];
}

export interface Context {
  options: DoctorOptions;
  /** The configuration the service runs with: the env file as systemd reads it, validated as the app does. */
  config(): Config;
  /** The raw variables the service is given (env file plus the unit's fixed ones). */
  serviceEnv(): Record<string, string>;
  /** A connection as the runtime role (DATABASE_URL), opened once. */
  db(): Promise<Knex>;
}

/** One line of the launch checklist as a command: what it checks, which checklist item, and how to fix it. */
export interface Check {
  id: string;
  checklist: string;
  title: string;
  fix: string;
  run(context: Context): Promise<Outcome>;
}

export interface Finding extends Outcome {
  id: string;
  checklist: string;
  title: string;
  fix: string;
  durationMs: number;
}

export const pass = (detail: string): Outcome => ({ status: 'pass', detail });
export const warn = (detail: string): Outcome => ({ status: 'warn', detail });
export const fail = (detail: string): Outcome => ({ status: 'fail', detail });
export const skip = (detail: string): Outcome => ({ status: 'skip', detail });

/** Thrown when a check cannot run for a reason another check reports (the configuration is refused): a skip. */
export class CannotRun extends Error {
  override name = 'CannotRun';
}
