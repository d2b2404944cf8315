import pino, { type Logger } from 'pino';
import { redactSecrets } from './redact.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  pretty: boolean;
  base?: Record<string, unknown>;
  /** Where lines go; stdout when absent. Tests pass a stream to read what was logged. */
  destination?: pino.DestinationStream;
  /** Fields added to every line at the moment it is written, e.g. the active trace and span ids. */
  mixin?: () => Record<string, unknown>;
}

/**
 * A leaf module: it imports nothing of ours but its redaction (itself a leaf), so anything can log without
 * creating a cycle.
 * stdout is written synchronously, one write per line: nothing waits in memory (pino's default asynchronous
 * destination buffers without limit when stdout is slower than the traffic), no line is lost when the
 * process exits, and workers of a cluster sharing stdout never interleave within a line (a line under 4 kB
 * is one atomic pipe write). Its cost is a write(2) per line, a few microseconds (docs/performance.md).
 */
export function createLogger({ level, pretty, base, destination, mixin }: LoggerOptions): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'shipshape', ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Credentials are censored at any depth of every line.
    formatters: { level: (label) => ({ level: label }), log: redactSecrets },
    ...(mixin && { mixin }),
    ...(pretty &&
      !destination && {
        transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } },
      }),
  };
  if (destination) return pino(options, destination);
  if (pretty) return pino(options);
  return pino(options, pino.destination({ dest: 1, sync: true }));
}
