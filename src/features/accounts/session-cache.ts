import pg from 'pg';
import type { Logger } from '../../observability/logger.js';
import type { SessionWithUser } from './repository.js';

/** The channel the migration 20261204100000_session_change_notify's triggers notify on. */
export const SESSION_CHANNEL = 'shipshape_session_changed';
const MAX_ENTRIES = 10_000;
const RECONNECT_MS = { first: 500, max: 30_000 };
/** A heartbeat goes round every HEARTBEAT_MS; entries are trusted only while the last came back within TRUST_MS. */
const HEARTBEAT_MS = 1_000;
const TRUST_MS = 3_000;

export interface SessionCacheOptions {
  url: string;
  /** How long a looked-up session is served from memory at most, even with no notification. */
  ttlMs: number;
  logger?: Logger;
  /** Sends a notification through the app's own pool, the way the triggers' notifications travel. */
  notify(channel: string, payload: string): Promise<unknown>;
}

interface Entry {
  row: SessionWithUser;
  expiresAt: number;
  cachedUntil: number;
}

/**
 * Active sessions kept in memory, so most authenticated requests make one query instead of two. Correct only
 * while this process hears every change: a trigger notifies `shipshape_session_changed` when a session or its
 * user changes, and a connection of its own LISTENs. Hearing is proved, not assumed: every HEARTBEAT_MS the
 * process notifies itself through the app's pool, and PostgreSQL delivers notifications in commit order, so a
 * heartbeat that came back means every change committed before it was heard. Without one for TRUST_MS (the
 * listener cut, reconnecting, a pooler in transaction mode that never delivers, a failover) nothing is served
 * from memory and every request reads the database, as without the cache; trust starts again empty.
 * docs/performance.md ("The session cache") gives the security argument.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  private client?: pg.Client;
  private listening = false;
  private closed = false;
  private retryMs = RECONNECT_MS.first;
  private retry?: NodeJS.Timeout;
  /** Bumped by every notification and every change of the channel: a lookup that began before one is not kept. */
  private generation = 0;
  private heartbeat?: NodeJS.Timeout;
  private sentBeat = '';
  private heardAt = Number.NEGATIVE_INFINITY;
  private beats = 0;
  private warnedSilent = false;
  private listeningSince = 0;

  constructor(private readonly options: SessionCacheOptions) {}

  /** Resolves once listening, or after the first failed try (the cache then stays off until a retry works). */
  async start(): Promise<void> {
    await this.connect();
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
    await this.beat();
  }

  /** Whether entries are trusted now: the channel is up and a heartbeat came back within TRUST_MS. */
  trusted(now = Date.now()): boolean {
    if (this.listening && now - this.heardAt < TRUST_MS) return true;
    if (this.entries.size > 0) this.distrust();
    return false;
  }

  /** The mark to pass to remember(): a lookup that began before a change must not be kept. */
  mark(): number {
    return this.generation;
  }

  get(tokenHash: string, now = Date.now()): SessionWithUser | undefined {
    if (!this.trusted(now)) return undefined;
    const entry = this.entries.get(tokenHash);
    if (!entry) return undefined;
    if (now < entry.cachedUntil && now < entry.expiresAt) return entry.row;
    this.entries.delete(tokenHash);
    return undefined;
  }

  remember(tokenHash: string, row: SessionWithUser, mark: number, now = Date.now()): void {
    if (!this.trusted(now) || mark !== this.generation) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    const expiresAt = Date.parse(row.expires_at);
    this.entries.set(tokenHash, { row, expiresAt, cachedUntil: now + this.options.ttlMs });
  }

  /** A user's sessions, after a request of theirs that may have changed them: forgotten before it answers. */
  forgetUser(userId: string): void {
    this.changed(`u:${userId}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.distrust();
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    await this.client?.end().catch(() => {});
  }

  private async beat(): Promise<void> {
    const silent = this.listening && Date.now() - Math.max(this.heardAt, this.listeningSince) >= TRUST_MS;
    if (silent && !this.warnedSilent) {
      this.options.logger?.warn(
        'session cache: heartbeats do not come back (a pooler in transaction mode?), reading the database',
      );
    }
    this.warnedSilent = silent;
    const payload = `h:${process.pid}-${++this.beats}`;
    this.sentBeat = payload;
    await this.options.notify(SESSION_CHANNEL, payload).catch(() => {});
  }

  private changed(payload: string): void {
    if (payload.startsWith('h:')) {
      if (payload === this.sentBeat && this.listening) this.heardAt = Date.now();
      return;
    }
    this.generation++;
    if (payload.startsWith('s:')) {
      this.entries.delete(payload.slice(2));
      return;
    }
    const userId = payload.slice(2);
    for (const [tokenHash, entry] of this.entries) {
      if (entry.row.user_id === userId) this.entries.delete(tokenHash);
    }
  }

  /** Forgets everything: what was missed while not trusted is unknown. */
  private distrust(): void {
    this.generation++;
    this.entries.clear();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: 'shipshape-sessions',
    });
    this.client = client;
    const lost = (error?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      if (this.listening)
        this.options.logger?.warn({ err: error }, 'session cache: channel lost, reading the database');
      this.listening = false;
      this.heardAt = Number.NEGATIVE_INFINITY;
      this.distrust();
      client.end().catch(() => {});
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (message) => {
      if (message.channel === SESSION_CHANNEL) this.changed(message.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`listen ${SESSION_CHANNEL}`);
      if (this.closed || this.client !== client) return;
      this.listening = true;
      this.listeningSince = Date.now();
      this.retryMs = RECONNECT_MS.first;
      this.options.logger?.info({ ttlMs: this.options.ttlMs }, 'session cache: listening for changes');
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'session cache: cannot listen yet, reading the database');
      lost(error as Error);
    }
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.connect(), this.retryMs);
    this.retry.unref();
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MS.max);
  }
}
