import { BoundedMap } from '../bounded-map';
import { LuaScript, type Redis } from '../redis';

/** How often a user is stamped at most, per node: lastSeen is exact to this (ms). */
export const LAST_SEEN_EVERY_MS = 60_000;

// KEYS[1]: the hash; ARGV: userId, ms, userId, ms, ... Keeps the larger stamp, so a
// late write from another node never moves a user's lastSeen back.
const STAMP = `
for i = 1, #ARGV, 2 do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if (not v) or tonumber(v) < tonumber(ARGV[i + 1]) then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1`;
const STAMP_SCRIPT = new LuaScript(STAMP);

/** Where the stamps are kept: user id -> epoch ms, each user's larger stamp winning. */
export interface LastSeenStore {
  /** Stamps each user at `ms` unless she has a later stamp already. */
  stamp(userIds: readonly string[], ms: number): Promise<void>;
  /** Each user's stamp (ms), null for one never seen (or forgotten). */
  read(userIds: readonly string[]): Promise<Array<number | null>>;
}

/** One Redis hash shared by every node (`key`), written by a script that keeps the larger stamp. */
export class RedisLastSeen implements LastSeenStore {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  async stamp(userIds: readonly string[], ms: number): Promise<void> {
    await STAMP_SCRIPT.run(this.redis, [this.key], userIds.flatMap((id) => [id, String(ms)]));
  }

  async read(userIds: readonly string[]): Promise<Array<number | null>> {
    if (!userIds.length) return [];
    return (await this.redis.hmget(this.key, ...userIds)).map((v) => (v == null ? null : Number(v)));
  }
}

/**
 * The stamps in this process (embedded mode): at most `max` users, the
 * least recently stamped forgotten first (read as never seen, as after a
 * Redis restart); all are forgotten with the process.
 */
export class MemoryLastSeen implements LastSeenStore {
  private readonly stamps: BoundedMap<string, number>;

  constructor(max = 200_000) {
    this.stamps = new BoundedMap({ max });
  }

  async stamp(userIds: readonly string[], ms: number): Promise<void> {
    for (const id of userIds) this.stamps.set(id, Math.max(ms, this.stamps.get(id) ?? 0));
  }

  async read(userIds: readonly string[]): Promise<Array<number | null>> {
    return userIds.map((id) => this.stamps.get(id) ?? null);
  }
}

/**
 * When each user was last seen by the server, for `User.lastSeen`: user id
 * -> epoch milliseconds, in a LastSeenStore (one Redis hash, or this
 * process). A user is seen when one of her devices makes an authenticated
 * HTTP request (touch), while it holds a socket open (stamped when it opens,
 * once a minute while it stays open, and when it closes), so the stamp is
 * about LAST_SEEN_EVERY_MS old at most while she is connected and exact to
 * the minute after. Each node writes a user about once a minute at most: a
 * request stamps her unless this node did within the minute, a tick each
 * minute stamps its sockets' users not stamped in the last half of it (all
 * in one command), and a socket's close. Best effort: a failed write is
 * dropped (the next one heals it); a Redis restarted empty forgets the
 * stamps (lastSeen null until the user is seen again); a node killed
 * outright leaves its users' last tick.
 */
export class LastSeen {
  /** Open sockets per user on this node. */
  private readonly open = new Map<string, number>();
  /** When this node last stamped each user (ms); pruned every tick. */
  private readonly written = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: LastSeenStore,
    private readonly everyMs = LAST_SEEN_EVERY_MS,
  ) {}

  /** An authenticated request of userId: stamped unless this node did so within everyMs. */
  touch(userId: string): void {
    const now = Date.now();
    if (now - (this.written.get(userId) ?? 0) >= this.everyMs) this.write([userId], now);
  }

  /** A socket of userId opened (authenticated) on this node. */
  opened(userId: string): void {
    this.open.set(userId, (this.open.get(userId) ?? 0) + 1);
    this.touch(userId);
  }

  /** A socket that opened() closed: stamped now, whatever the last write. */
  closed(userId: string): void {
    const n = (this.open.get(userId) ?? 1) - 1;
    if (n > 0) this.open.set(userId, n);
    else this.open.delete(userId);
    this.write([userId], Date.now());
  }

  /** The stamps of many users in one command; null for a user never seen (or forgotten). */
  async ofMany(userIds: readonly string[]): Promise<Array<Date | null>> {
    if (!userIds.length) return [];
    return (await this.store.read(userIds)).map((ms) => (ms == null ? null : new Date(ms)));
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Every everyMs: stamps the users with a socket here (unless stamped within half of it), forgets old writes. */
  private tick(): void {
    const now = Date.now();
    const due = [...this.open.keys()].filter((id) => now - (this.written.get(id) ?? 0) >= this.everyMs / 2);
    for (const [id, at] of this.written) if (now - at >= this.everyMs) this.written.delete(id);
    if (due.length) this.write(due, now);
    if (!this.open.size && !this.written.size) this.stop();
  }

  private write(userIds: string[], now: number): void {
    for (const id of userIds) this.written.set(id, now);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.everyMs);
      this.timer.unref();
    }
    this.store.stamp(userIds, now).catch(() => undefined);
  }
}
