import type { EntityManager } from '@mikro-orm/knex';
import { User } from '../entities';
import { type Keys, LuaScript, type Redis } from '../redis';

/**
 * Only fills a key if nobody invalidated it since the reader took its version:
 * without this, a read that loaded the old row before a write and stored it
 * after the write's invalidation would leave a stale entry for a whole TTL.
 */
const FILL = new LuaScript(`
local v = redis.call('GET', KEYS[2])
if (v or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0`);

export interface CacheRead {
  /** The cached JSON text per key, null on a miss. */
  values: (string | null)[];
  /** Pass back to fill(): the version each key had before the caller read the database. */
  versions: string[];
}

/**
 * Read-through JSON cache with a TTL, invalidated by writers after they
 * commit. The version rule: a reader takes each key's version with read(),
 * loads the database, then fill()s with that version; the fill is refused
 * when the key was invalidated since the read. RedisCache is shared by all
 * nodes; MemoryCache (memory-cache.ts) serves one process (embedded mode).
 */
export interface Cache {
  /** Seconds an entry lives. */
  readonly ttlS: number;
  read(keys: readonly string[]): Promise<CacheRead>;
  /** Stores `json` under `key` unless `key` was invalidated since the read that gave `version`. */
  fill(key: string, version: string, json: string): Promise<void>;
  /** Drops the keys and moves their versions on, so fills of earlier reads are refused. */
  invalidate(...keys: string[]): Promise<void>;
}

/** The cache in Redis: a key per entry, and `<key>:v` its version (a counter). */
export class RedisCache implements Cache {
  constructor(private readonly redis: Redis, readonly ttlS: number) {}

  private version = (key: string) => `${key}:v`;

  async read(keys: readonly string[]): Promise<CacheRead> {
    if (!keys.length) return { values: [], versions: [] };
    const all = await this.redis.mget(...keys, ...keys.map(this.version));
    return { values: all.slice(0, keys.length), versions: all.slice(keys.length).map((v) => v ?? '') };
  }

  async fill(key: string, version: string, json: string): Promise<void> {
    await FILL.run(this.redis, [key, this.version(key)], [version, json, String(this.ttlS)]);
  }

  async invalidate(...keys: string[]): Promise<void> {
    if (!keys.length) return;
    const m = this.redis.multi();
    for (const key of keys) {
      // The version outlives any plausible in-flight read, then goes away by itself.
      m.incr(this.version(key)).expire(this.version(key), this.ttlS + 3600).del(key);
    }
    await m.exec();
  }
}

interface CachedUser {
  id: string;
  account: string;
  accountKey: string;
  name: string;
  avatar: string | null;
  email: string | null;
  roleId: string;
  createdAt: string;
  deletedAt: string | null;
}

/**
 * User profiles for the user DataLoader. Deleted users are cached too (as
 * UserService.byIds returns them), so resolvers keep deciding what to show.
 */
export class UserCache {
  constructor(
    private readonly cache: Cache,
    private readonly keys: Keys,
    private readonly em: () => EntityManager,
  ) {}

  async byIds(ids: readonly string[]): Promise<User[]> {
    const unique = [...new Set(ids)];
    const { values, versions } = await this.cache.read(unique.map(this.keys.userCache));
    const em = this.em();
    const found: User[] = [];
    const missing: string[] = [];
    unique.forEach((id, i) => {
      const json = values[i];
      if (json) found.push(this.hydrate(em, JSON.parse(json) as CachedUser));
      else missing.push(id);
    });
    if (missing.length) {
      const loaded = await em.find(User, { id: { $in: missing } });
      const version = new Map(unique.map((id, i) => [id, versions[i]]));
      await Promise.all(loaded.map((u) => this.cache.fill(this.keys.userCache(u.id), version.get(u.id) ?? '', JSON.stringify(this.dehydrate(u)))));
      found.push(...loaded);
    }
    return found;
  }

  invalidate(...userIds: string[]): Promise<void> {
    return this.cache.invalidate(...userIds.map(this.keys.userCache));
  }

  private dehydrate(u: User): CachedUser {
    return {
      id: u.id,
      account: u.account,
      accountKey: u.accountKey,
      name: u.name,
      avatar: u.avatar ?? null,
      email: u.email ?? null,
      roleId: u.role.id,
      createdAt: u.createdAt.toISOString(),
      deletedAt: u.deletedAt ? u.deletedAt.toISOString() : null,
    };
  }

  /** A managed entity of a throwaway fork, so it behaves like one that was loaded (user.role.id works). */
  private hydrate(em: EntityManager, c: CachedUser): User {
    return em.merge(User, {
      id: c.id,
      account: c.account,
      accountKey: c.accountKey,
      name: c.name,
      avatar: c.avatar,
      email: c.email,
      role: c.roleId,
      createdAt: new Date(c.createdAt),
      deletedAt: c.deletedAt ? new Date(c.deletedAt) : null,
    });
  }
}
