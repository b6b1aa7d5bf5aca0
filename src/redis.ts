import { createHash } from 'node:crypto';
import Redis from 'ioredis';

export type { Redis };

/** Key names live here so every module shares one prefix (tests run under their own). */
export class Keys {
  constructor(readonly prefix: string) {}
  revokedSession = (sessionId: string) => `${this.prefix}revoked:${sessionId}`;
  userCache = (userId: string) => `${this.prefix}cache:user:${userId}`;
  groupMembers = (groupId: string) => `${this.prefix}cache:gm:${groupId}`;
  presence = (userId: string) => `${this.prefix}presence:${userId}`;
  conn = (connectionId: string) => `${this.prefix}conn:${connectionId}`;
  nodeChannel = (nodeId: string) => `${this.prefix}node:${nodeId}`;
  ackChannel = () => `${this.prefix}acks`;
  queuePrefix = () => `${this.prefix}bq`;
}

/**
 * Makes a client. Every client pipelines automatically: commands issued in
 * the same tick go out as one pipeline. Run Lua on it only through
 * {@link LuaScript}, never `defineCommand`: an automatic pipeline made before
 * a command is defined lacks it, and ioredis then throws an uncaught
 * `TypeError` from `autoPipelining.js` (its known bug), which kills the process.
 */
export function createRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}

/**
 * One Lua script, run as plain EVALSHA (and EVAL when Redis answers
 * NOSCRIPT: after a restart, a failover or SCRIPT FLUSH). Both are ordinary
 * commands every pipeline knows, so a script is safe on an automatically
 * pipelining client from its first use, unlike ioredis's `defineCommand`,
 * which must run before the client sends anything (see createRedis).
 */
export class LuaScript {
  /** SHA-1 of the text, hex: the name Redis caches the script under. */
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script with these keys and arguments; resolves with its reply. */
  async run<T>(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number> = []): Promise<T> {
    try {
      return (await redis.evalsha(this.sha, keys.length, ...keys, ...args)) as T;
    } catch (err) {
      if (!/NOSCRIPT/.test(String((err as Error)?.message))) throw err;
      return (await redis.eval(this.lua, keys.length, ...keys, ...args)) as T;
    }
  }
}
