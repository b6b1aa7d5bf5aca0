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

/**
 * Who is online, in Redis so every node sees it (D20). Per user a sorted set
 * of "nodeId|connectionId|deviceId" scored by expiry time; a live socket's
 * entry is refreshed every ttl/3, so a crashed node's entries lapse by themselves.
 */
export class Presence {
  private readonly local = new Map<string, Connection>();
  private timer?: NodeJS.Timeout;
  /** Runs before a lapsed entry is renewed (D7: the refresh fences again). */
  onLapse: (c: Connection) => Promise<void> = async () => undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly ttlS: number,
    readonly nodeId: string = 'local',
  ) {}

  private member = (c: Connection) => `${this.nodeId}|${c.connectionId}|${c.deviceId}`;

  async attach(c: Connection): Promise<void> {
    this.local.set(c.connectionId, c);
    await this.redis.zadd(this.keys.presence(c.userId), Date.now() + this.ttlS * 1000, this.member(c));
    await this.redis.expire(this.keys.presence(c.userId), this.ttlS * 2);
    this.startRefresh();
  }

  async detach(c: Connection): Promise<void> {
    this.local.delete(c.connectionId);
    await this.redis.zrem(this.keys.presence(c.userId), this.member(c));
  }

  localConnection(connectionId: string): Connection | undefined {
    return this.local.get(connectionId);
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
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), (this.ttlS * 1000) / 3);
    this.timer.unref();
  }

  private async refresh(): Promise<void> {
    const conns = [...this.local.values()];
    if (!conns.length) return;
    const now = Date.now();
    const scores = await this.redis
      .pipeline(conns.map((c) => ['zscore', this.keys.presence(c.userId), this.member(c)]))
      .exec()
      .catch(() => null);
    if (!scores) return;
    const until = now + this.ttlS * 1000;
    const p = this.redis.pipeline();
    for (const [i, c] of conns.entries()) {
      const score = scores[i][1] as string | null;
      if (score === null || Number(score) <= now) {
        // Pushes during the lapse found the device offline and recorded nothing.
        await this.onLapse(c).catch(() => undefined);
      }
      if (!this.local.has(c.connectionId)) continue;
      p.zadd(this.keys.presence(c.userId), until, this.member(c));
      p.expire(this.keys.presence(c.userId), this.ttlS * 2);
      p.zremrangebyscore(this.keys.presence(c.userId), '-inf', now);
    }
    await p.exec().catch(() => undefined);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
