import type { EntityManager } from '@mikro-orm/knex';
import { BoundedMap } from '../bounded-map';
import { SessionRow } from '../entities';
import type { Keys, Redis } from '../redis';

/**
 * Cached liveness of sessions: true live, false revoked, null unknown. A
 * store that cannot answer reads null and drops writes (never rejects): the
 * session row is asked instead.
 */
export interface SessionCache {
  get(sessionId: string): Promise<boolean | null>;
  getMany(sessionIds: readonly string[]): Promise<Array<boolean | null>>;
  set(sessionId: string, live: boolean): Promise<void>;
}

/**
 * In Redis, shared by every node: `Keys.session(id)` holds `"1"` live or
 * `"0"` revoked for `ttlS` seconds.
 */
export class RedisSessionCache implements SessionCache {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly ttlS: number,
  ) {}

  async get(sessionId: string): Promise<boolean | null> {
    return parse(await this.redis.get(this.keys.session(sessionId)).catch(() => null));
  }

  async getMany(sessionIds: readonly string[]): Promise<Array<boolean | null>> {
    if (!sessionIds.length) return [];
    const cached = await this.redis.mget(...sessionIds.map((s) => this.keys.session(s))).catch(() => sessionIds.map(() => null));
    return cached.map(parse);
  }

  async set(sessionId: string, live: boolean): Promise<void> {
    await this.redis.set(this.keys.session(sessionId), live ? '1' : '0', 'EX', this.ttlS).catch(() => undefined);
  }
}

const parse = (v: string | null): boolean | null => (v === '1' ? true : v === '0' ? false : null);

/**
 * In this process (embedded mode): each answer for `ttlS` seconds, at most
 * `max` sessions (the oldest answers go first; a forgotten one costs a row
 * read, never a revoked session let in).
 */
export class MemorySessionCache implements SessionCache {
  private readonly entries: BoundedMap<string, boolean>;

  constructor(ttlS: number, max = 100_000) {
    this.entries = new BoundedMap({ max, ttlMs: ttlS * 1000 });
  }

  async get(sessionId: string): Promise<boolean | null> {
    return this.entries.get(sessionId) ?? null;
  }

  async getMany(sessionIds: readonly string[]): Promise<Array<boolean | null>> {
    return sessionIds.map((s) => this.entries.get(s) ?? null);
  }

  async set(sessionId: string, live: boolean): Promise<void> {
    this.entries.set(sessionId, live);
  }
}

/**
 * Whether a session may still act: the `session` row is the truth (not
 * revoked, not expired), the cache only caches the answer. A cache that
 * restarts empty, or cannot be reached, therefore costs a database read and
 * never lets a revoked session back in (issue: revocation that survives Redis).
 *
 * An answer is cached for the cache's TTL (SESSION_CACHE_TTL_S). A
 * revocation writes the row first, then "revoked"; should that write fail
 * while the cache still answers reads, a stale "live" lives at most that long.
 */
export class SessionStatus {
  constructor(
    private readonly em: () => EntityManager,
    private readonly cache: SessionCache,
  ) {}

  /** True while the session row exists, is not revoked and has not expired. */
  async isLive(sessionId: string): Promise<boolean> {
    const cached = await this.cache.get(sessionId);
    if (cached !== null) return cached;
    const live = await this.readRow(sessionId);
    await this.cache.set(sessionId, live);
    return live;
  }

  /**
   * Live sessions among `sessionIds`, one cache read and one SELECT for the
   * misses: an open socket's session is re-checked with this (a revocation
   * whose pub/sub message was lost, e.g. across a Redis restart, still closes it).
   */
  async liveOf(sessionIds: readonly string[]): Promise<Set<string>> {
    const live = new Set<string>();
    if (!sessionIds.length) return live;
    const cached = await this.cache.getMany(sessionIds);
    const misses: string[] = [];
    sessionIds.forEach((s, i) => {
      if (cached[i] === true) live.add(s);
      else if (cached[i] === null) misses.push(s);
    });
    if (misses.length) {
      const rows = await this.em().find(SessionRow, { id: misses, revokedAt: null, expiresAt: { $gt: new Date() } }, { fields: ['id'] });
      for (const r of rows) live.add(r.id);
    }
    return live;
  }

  /** Called after the row was marked revoked. */
  async markRevoked(sessionId: string): Promise<void> {
    await this.cache.set(sessionId, false);
  }

  private async readRow(sessionId: string): Promise<boolean> {
    const row = await this.em().findOne(SessionRow, { id: sessionId }, { fields: ['revokedAt', 'expiresAt'] });
    return !!row && !row.revokedAt && row.expiresAt > new Date();
  }
}
