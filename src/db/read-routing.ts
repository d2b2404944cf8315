import type { Knex } from 'knex';
import { isDatabaseUnavailable } from './errors.js';

/** How long after a user's write that user's reads stay on the primary: far above any healthy replication lag. */
export const READ_YOUR_WRITES_MS = 5_000;

/** How long reads skip a replica that failed, before it is tried again. */
export const REPLICA_RETRY_MS = 5_000;

/** A standby cancels a query that conflicts with WAL it must replay: the primary can answer it instead. */
const RECOVERY_CONFLICT = '40001';

/**
 * Where reads that tolerate replication lag go: the replica when there is one, except for a user who wrote
 * within READ_YOUR_WRITES_MS (that user reads the primary, so a write is seen by the next read), and except
 * while the replica is unreachable (reads fall back to the primary; no read fails because the replica did).
 * Writes are remembered in this process only: another process or host that serves the user's next read does not
 * know about the write, and may answer from a replica that lags (docs/high-availability.md).
 */
export class ReadRouting {
  private readonly lastWrite = new Map<string, number>();
  private replicaSkippedUntil = 0;

  constructor(
    private readonly primary: Knex,
    private readonly replica: Knex | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Call after a user's write commits and before the response goes out. */
  wrote(userId: string): void {
    const now = this.now();
    this.lastWrite.delete(userId); // re-inserted last: the map stays ordered by write time
    this.lastWrite.set(userId, now);
    for (const [user, at] of this.lastWrite) {
      if (now - at < READ_YOUR_WRITES_MS) break;
      this.lastWrite.delete(user);
    }
  }

  /** Runs a read on the database this user's read may use, and on the primary if the replica fails it. */
  async read<T>(userId: string, query: (db: Knex) => PromiseLike<T>): Promise<T> {
    if (!this.replica || this.recentlyWrote(userId) || this.now() < this.replicaSkippedUntil) {
      return query(this.primary);
    }
    try {
      return await query(this.replica);
    } catch (error) {
      const conflict = (error as { code?: unknown }).code === RECOVERY_CONFLICT;
      if (!conflict && !isDatabaseUnavailable(error)) throw error;
      if (!conflict) this.replicaSkippedUntil = this.now() + REPLICA_RETRY_MS;
      return query(this.primary);
    }
  }

  private recentlyWrote(userId: string): boolean {
    const at = this.lastWrite.get(userId);
    return at !== undefined && this.now() - at < READ_YOUR_WRITES_MS;
  }
}
