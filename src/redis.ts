import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import type { Logger } from './logger';

export type { Redis };

/** Key names live here so every module shares one prefix (tests run under their own). */
export class Keys {
  constructor(readonly prefix: string) {}
  /** Cached liveness of a session: "1" live, "0" revoked (see auth/session-status.ts). */
  session = (sessionId: string) => `${this.prefix}session:${sessionId}`;
  userCache = (userId: string) => `${this.prefix}cache:user:${userId}`;
  groupMembers = (groupId: string) => `${this.prefix}cache:gm:${groupId}`;
  presence = (userId: string) => `${this.prefix}presence:${userId}`;
  /** Hash user id -> epoch ms of when the user was last seen (services/last-seen.ts). */
  lastSeen = () => `${this.prefix}seen`;
  conn = (connectionId: string) => `${this.prefix}conn:${connectionId}`;
  nodeChannel = (nodeId: string) => `${this.prefix}node:${nodeId}`;
  ackChannel = () => `${this.prefix}acks`;
  queuePrefix = () => `${this.prefix}bq`;
}

/**
 * Makes a client that connects on connect() (lazyConnect) and reconnects by
 * itself. Connection errors after it was ready once go to `log` as warnings;
 * without a listener ioredis would print each one with its stack to stderr.
 * Errors before that are left to whoever awaits connect() (main.ts turns them
 * into one startup line).
 *
 * Unless `autoPipelining` is false, commands issued in the same tick go out
 * as one pipeline. Run Lua on such a client only through {@link LuaScript},
 * never `defineCommand`: an automatic pipeline made before a command is
 * defined lacks it, and ioredis then throws an uncaught `TypeError` from
 * `autoPipelining.js` (its known bug), which kills the process. A library
 * that defines commands itself gets a client with `autoPipelining: false`.
 */
export function createRedis(url: string, name: string, log?: Logger, opts: { autoPipelining?: boolean } = {}): Redis {
  const client = new Redis(url, {
    connectionName: name,
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: opts.autoPipelining ?? true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let wasReady = false;
  client.once('ready', () => {
    wasReady = true;
  });
  client.on('error', (err) => {
    if (wasReady) log?.warn({ err, redis: name }, 'Redis connection error');
  });
  return client;
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
