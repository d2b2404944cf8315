import type { Logger } from '../observability/logger.js';
import { flushSentry, reportFatalError } from '../observability/sentry.js';

/**
 * After an uncaught exception or an unhandled rejection the process is in a state nobody planned for
 *: log it with the stack, report it, flush both, and exit 1 so the primary or the supervisor starts a
 * clean one. Limping on could serve wrong answers or leak connections for hours.
 */
export function exitOnFatalErrors(logger: Logger, beforeExit: () => Promise<void> = async () => {}): void {
  let exiting = false;
  const die = (origin: string) => (error: unknown) => {
    logger.fatal({ err: error, origin }, 'fatal: unhandled error, the process exits to be replaced');
    if (exiting) return;
    exiting = true;
    reportFatalError(error, origin);
    // Bounded: a hung flush must not keep a broken process alive.
    const deadline = setTimeout(() => process.exit(1), 3_000);
    deadline.unref();
    Promise.allSettled([flushSentry(2_000), beforeExit()]).finally(() => {
      logger.flush();
      process.exit(1);
    });
  };
  process.on('uncaughtException', die('uncaughtException'));
  process.on('unhandledRejection', die('unhandledRejection'));
}
