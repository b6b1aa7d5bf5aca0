import { type Keys, LuaScript, type Redis } from '../redis';

export interface Connection {
  connectionId: string;
  userId: string;
  deviceId: string;
}

export interface RemoteConnection extends Connection {
  nodeId: string;
}

const parseMember = (userId: string, m: string): RemoteConnection => {
  const [nodeId, connectionId, deviceId] = m.split('|');
  return { nodeId, connectionId, deviceId, userId };
};

// KEYS: presence sets; ARGV[1]: now (ms). One ZRANGEBYSCORE per key, answered together.
const PRESENCE_MANY = new LuaScript(`
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('ZRANGEBYSCORE', key, ARGV[1], '+inf')
end
return out`);

// KEYS[i]: the presence set holding member ARGV[3 + i]; ARGV[1]: now (ms), ARGV[2]: the new
// expiry (ms), ARGV[3]: the sets' TTL (s). Renews each member still live, in the same step as
// the check, and answers the indexes of those that lapsed (gone, or expired): those are
// fenced before they are added again (D7), as pushes during the lapse recorded nothing.
const RENEW = new LuaScript(`
local lapsed = {}
for i, key in ipairs(KEYS) do
  local m = ARGV[3 + i]
  local score = redis.call('ZSCORE', key, m)
  if score and tonumber(score) > tonumber(ARGV[1]) then
    redis.call('ZADD', key, ARGV[2], m)
    redis.call('EXPIRE', key, ARGV[3])
  else
    lapsed[#lapsed + 1] = i
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
end
return lapsed`);

/**
 * Who is online: one entry per live `messages` subscription (the engine
 * gives each its own connectionId), added by attach and removed by detach.
 * RedisPresence shares it between nodes (D20); MemoryPresence keeps it in
 * this process (embedded mode: one node).
 */
export interface Presence {
  readonly nodeId: string;
  /** Runs before an entry that lapsed is renewed (D7: the refresh fences again); never called where entries cannot lapse. */
  onLapse: (c: Connection) => Promise<void>;
  /** Marks one subscription present (the caller never detaches it while this runs). */
  attach(c: Connection): Promise<void>;
  /** Marks it absent. */
  detach(c: Connection): Promise<void>;
  /** How many subscriptions this node holds present. */
  readonly localCount: number;
  /** Live connections of a user on any node. */
  connectionsOf(userId: string): Promise<RemoteConnection[]>;
  /** Live connections of many users at once; every user asked is in the map (an empty list when offline). */
  connectionsOfMany(userIds: readonly string[]): Promise<Map<string, RemoteConnection[]>>;
  isOnline(userId: string): Promise<boolean>;
  /** Whether this very subscription (node, connection, device) is live. */
  isPresent(c: Connection): Promise<boolean>;
  /** Stops for good (shutdown). */
  stop(): void;
}

/** Connections renewed per script call. */
const RENEW_BATCH = 500;

/**
 * Who is online, in Redis so every node sees it (D20). Per user a sorted set
 * of "nodeId|connectionId|deviceId" scored by expiry time. One entry per live
 * `messages` subscription (the engine gives each its own connectionId): it is
 * added by attach, removed by detach, and renewed every ttl/3 only while this
 * node still holds it, so an entry outlives its subscription by at most the
 * TTL (a crashed node, a failed detach) and never for good.
 */
export class RedisPresence implements Presence {
  private readonly local = new Map<string, Connection>();
  private timer?: NodeJS.Timeout;
  private refreshing = false;
  private stopped = false;
  /** Runs before a lapsed entry is renewed (D7: the refresh fences again). */
  onLapse: (c: Connection) => Promise<void> = async () => undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly ttlS: number,
    readonly nodeId: string = 'local',
  ) {}

  private member = (c: Connection) => `${this.nodeId}|${c.connectionId}|${c.deviceId}`;

  /**
   * Marks one subscription present. Renewed from then on only once the entry
   * is written: the caller (engine, rules/attachment.ts) never detaches the
   * same subscription while this runs.
   */
  async attach(c: Connection): Promise<void> {
    const key = this.keys.presence(c.userId);
    await Promise.all([this.redis.zadd(key, Date.now() + this.ttlS * 1000, this.member(c)), this.redis.expire(key, this.ttlS * 2)]);
    this.local.set(c.connectionId, c);
    this.startRefresh();
  }

  /** Marks it absent: no longer renewed from this moment, and removed from Redis. */
  async detach(c: Connection): Promise<void> {
    this.local.delete(c.connectionId);
    await this.redis.zrem(this.keys.presence(c.userId), this.member(c));
  }

  /** How many subscriptions this node holds present (and renews). */
  get localCount(): number {
    return this.local.size;
  }

  /** Live connections of a user on any node. */
  async connectionsOf(userId: string): Promise<RemoteConnection[]> {
    const members = await this.redis.zrangebyscore(this.keys.presence(userId), Date.now(), '+inf');
    return members.map((m) => parseMember(userId, m));
  }

  /**
   * Live connections of many users in one command (a script reading each
   * user's set), instead of one command per user: a group message asks for
   * every member, and the client's cost is per command.
   */
  async connectionsOfMany(userIds: readonly string[]): Promise<Map<string, RemoteConnection[]>> {
    const out = new Map<string, RemoteConnection[]>();
    if (!userIds.length) return out;
    const lists = await PRESENCE_MANY.run<string[][]>(this.redis, userIds.map((u) => this.keys.presence(u)), [Date.now()]);
    userIds.forEach((u, i) => out.set(u, (lists[i] ?? []).map((m) => parseMember(u, m))));
    return out;
  }

  async isOnline(userId: string): Promise<boolean> {
    return (await this.redis.zcount(this.keys.presence(userId), Date.now(), '+inf')) > 0;
  }

  async isPresent(c: Connection): Promise<boolean> {
    const score = await this.redis.zscore(this.keys.presence(c.userId), this.member(c));
    return score !== null && Number(score) > Date.now();
  }

  private startRefresh(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => {
      // A refresh slower than the period (Redis or MariaDB stalling) is not overlapped by the next.
      if (this.refreshing) return;
      this.refreshing = true;
      void this.refresh().finally(() => (this.refreshing = false));
    }, (this.ttlS * 1000) / 3);
    this.timer.unref();
  }

  /**
   * Renews this node's entries. One that lapsed meanwhile (the node stalled,
   * or Redis lost it) is fenced first and added again only if the fence
   * worked and the subscription is still held; the add is queued in the same
   * tick as that check, so a detach after it is ordered after it in Redis.
   */
  private async refresh(): Promise<void> {
    const conns = [...this.local.values()];
    const until = Date.now() + this.ttlS * 1000;
    for (let i = 0; i < conns.length; i += RENEW_BATCH) {
      const batch = conns.slice(i, i + RENEW_BATCH);
      const lapsed = await RENEW.run<number[]>(
        this.redis,
        batch.map((c) => this.keys.presence(c.userId)),
        [Date.now(), until, this.ttlS * 2, ...batch.map(this.member)],
      ).catch(() => [] as number[]);
      const fenced = await Promise.all(
        lapsed.map(async (n) => {
          const c = batch[n - 1];
          if (this.local.get(c.connectionId) !== c) return undefined;
          // Pushes during the lapse found the device offline and recorded nothing.
          return this.onLapse(c).then(() => c, () => undefined);
        }),
      );
      const again = fenced.filter((c): c is Connection => !!c && this.local.get(c.connectionId) === c);
      if (!again.length) continue;
      const p = this.redis.pipeline();
      for (const c of again) {
        p.zadd(this.keys.presence(c.userId), Date.now() + this.ttlS * 1000, this.member(c));
        p.expire(this.keys.presence(c.userId), this.ttlS * 2);
      }
      await p.exec().catch(() => undefined);
    }
  }

  /** Stops renewing for good (shutdown): an attach still running does not start it again. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
