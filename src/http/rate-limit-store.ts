import { type IncrementResponse, MemoryStore, type Options, type Store } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';

/** The Redis connection as the limiter sees it: whether it is connected, and a way to send a command. */
export interface RedisCommander {
  readonly isReady: boolean;
  sendCommand(args: string[]): Promise<unknown>;
}

/** What happens to the counting, for logs and metrics. */
export interface StoreEvents {
  /** Every request counted locally because Redis could not be used. */
  onFallback?: (limiter: string, error: unknown) => void;
  /** Counting moved: 'local' when Redis was lost, 'shared' when it answered again. */
  onSwitch?: (limiter: string, to: 'shared' | 'local', error?: unknown) => void;
}

/**
 * A Redis command slower than this counts as a failure: Redis answers in well under a millisecond on a
 * network, so this only adds latency while Redis hangs, and only for the first request of each retry period.
 */
const REDIS_DEADLINE_MS = 250;
/** After a failure, Redis is left alone this long: a dead Redis costs no request a timeout. */
const RETRY_AFTER_MS = 1_000;

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Counts in Redis, one count across every process and host, while Redis answers; while it does not, counts
 * in this process's memory with the same window and limit. A Redis outage thus loosens the limit (each
 * process allows the full amount) but never removes it, never fails a request, and needs no restart to end:
 * the next request after the retry period tries Redis again (docs/scaling.md).
 */
export class SharedOrLocalStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private readonly shared: RedisStore;
  private readonly local = new MemoryStore();
  private options: Options | undefined;
  /** The scripts loaded into Redis; forgotten after a failure, so a restarted Redis gets them again. */
  private scripts: Promise<void> | undefined;
  private skipRedisUntil = 0;
  private counting: 'shared' | 'local' = 'shared';

  constructor(
    private readonly limiter: string,
    private readonly redis: RedisCommander,
    private readonly events: StoreEvents = {},
  ) {
    this.prefix = `shipshape:rl:${limiter}:`;
    this.shared = new RedisStore({
      prefix: this.prefix,
      sendCommand: (...args: string[]) => redis.sendCommand(args) as never,
    });
  }

  init(options: Options): void {
    this.options = options;
    this.local.init(options);
  }

  async increment(key: string): Promise<IncrementResponse> {
    const unusable = !this.redis.isReady
      ? 'not connected'
      : Date.now() < this.skipRedisUntil
        ? 'failed less than a second ago'
        : undefined;
    if (unusable) return this.countLocally(key, new Error(`redis: ${unusable}`));
    try {
      const counted = await withDeadline(
        this.loadScripts().then(() => this.shared.increment(key)),
        REDIS_DEADLINE_MS,
      );
      this.switchTo('shared');
      return counted;
    } catch (error) {
      this.skipRedisUntil = Date.now() + RETRY_AFTER_MS;
      this.scripts = undefined;
      return this.countLocally(key, error);
    }
  }

  private countLocally(key: string, error: unknown): Promise<IncrementResponse> {
    this.switchTo('local', error);
    this.events.onFallback?.(this.limiter, error);
    return this.local.increment(key);
  }

  async decrement(key: string): Promise<void> {
    await this.either((store) => store.decrement(key));
  }

  async resetKey(key: string): Promise<void> {
    await this.either((store) => store.resetKey(key));
  }

  shutdown(): void {
    this.local.shutdown();
  }

  private async either(action: (store: Store) => Promise<void> | void): Promise<void> {
    if (this.counting === 'local') return action(this.local);
    await withDeadline(Promise.resolve(action(this.shared)), REDIS_DEADLINE_MS).catch(() => {});
  }

  private loadScripts(): Promise<void> {
    if (!this.options) throw new Error('rate-limit store used before init');
    if (!this.scripts) {
      this.scripts = this.shared.init(this.options);
      // A load that outlives the deadline rejects later, with nobody awaiting it.
      this.scripts.catch(() => {});
    }
    return this.scripts;
  }

  private switchTo(to: 'shared' | 'local', error?: unknown): void {
    if (this.counting === to) return;
    this.counting = to;
    this.events.onSwitch?.(this.limiter, to, error);
  }
}
